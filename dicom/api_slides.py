"""Route of remote pathology: a vendor slide file uploaded for conversion (dicom.slides)."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, UploadFile

from dicom import jobs, outbound, slides
from dicom.models import JobKind
from dicom.schemas import JobPublic
from telemed.core.db import get_engine
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import DomainError
from telemed.identity.deps import StaffUser
from telemed.identity.permissions import require_patient_read

router = APIRouter(prefix="/api/v1", tags=["imaging"])
CHUNK = 1024 * 1024


class SlideTooLarge(DomainError):
    status, code, title = 413, "too_large", "Payload too large"


@router.post("/slides", response_model=JobPublic, status_code=202)
def upload_slide(
    file: Annotated[UploadFile, File(description="an Aperio SVS, NDPI or tiled TIFF slide")],
    session: SessionDep,
    user: StaffUser,
    settings: SettingsDep,
    now: NowDep,
    tasks: BackgroundTasks,
    patient_id: Annotated[uuid.UUID | None, Form()] = None,
    accession: Annotated[str, Form(max_length=16)] = "",
) -> JobPublic:
    """Convert a vendor slide to DICOM VL Whole Slide Microscopy in the background; the job
    (`GET /api/v1/dicom/jobs/{id}`) names the new study when done."""
    patient = require_patient_read(session, user, patient_id) if patient_id else None
    suffix = slides.check_upload(file.filename or "", file.file.read(4))
    file.file.seek(0)
    folder = slides.upload_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    size = 0
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False) as part:
        try:
            while chunk := file.file.read(CHUNK):
                size += len(chunk)
                if size > settings.dicom.max_study_bytes:
                    raise SlideTooLarge(
                        f"a slide of more than {settings.dicom.max_study_bytes} bytes"
                    )
                part.write(chunk)
        except BaseException:
            Path(part.name).unlink(missing_ok=True)
            raise
    job = outbound.new_job(
        session=session,
        kind=JobKind.CONVERT_SLIDE,
        study_uid="",
        ae_id=None,
        by=user.id,
        now=now,
        params={
            "institution_id": str(user.institution_id) if user.institution_id else None,
            "patient_id": str(patient.id) if patient else None,
            "patient_name": patient.name if patient else "",
            "patient_mrn": str(patient.id) if patient else "",
            "accession": accession,
            "filename": Path(file.filename or "").name[:200],
            "bytes": size,
        },
    )
    path = slides.keep_upload(settings, job.id, suffix, Path(part.name))
    job.params = {**job.params, "path": str(path.resolve())}
    session.flush()
    tasks.add_task(
        outbound.run_job, engine=get_engine(), job_id=job.id, work=jobs.work_for(job, settings)
    )
    return JobPublic.model_validate(job, from_attributes=True)
