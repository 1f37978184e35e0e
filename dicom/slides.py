"""Vendor whole-slide files (Aperio SVS, generic tiled TIFF …) converted to DICOM VL Whole
Slide Microscopy by `wsidicomizer` (docs/imaging.md, Pathology), as an imaging job.

The upload is kept under the spool directory (`slides/<job id>`) until its job has run; the
job converts it in a child process (`dicom.slide_convert`; tiles copied as they are where
the source allows, no re-encoding), gives
every instance the patient and accession number the uploader named, and stores each one
through `dicom.ingest.ingest` (owner and size checks, archive, index) under the uploader's
institution. Label and overview images are left out: a slide label carries the patient's
name in the picture, which no header rule can remove.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlmodel import Session

from dicom.archive import get_archive
from dicom.ingest import ingest
from dicom.models import OutboundJob
from telemed.core import clock
from telemed.core.errors import Invalid
from telemed.core.settings import Settings

# TIFF (II*\0, MM\0*) and BigTIFF (II+\0, MM\0+) headers: SVS, NDPI and Philips TIFF are TIFFs
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
SUFFIXES = (".svs", ".tif", ".tiff", ".ndpi")
CONVERT_TIMEOUT = 3600  # seconds; a large slide on a loaded machine


def upload_dir(settings: Settings) -> Path:
    return Path(settings.dicom.spool_dir) / "slides"


def check_upload(filename: str, head: bytes) -> str:
    """The file's suffix when it looks like a slide file, else 422 `not_a_slide`."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIXES or not head.startswith(TIFF_MAGIC):
        raise Invalid(
            f"not a whole-slide file: expected a TIFF-based slide ({', '.join(SUFFIXES)})",
            field="file",
            code="not_a_slide",
        )
    return suffix


def keep_upload(settings: Settings, job_id: uuid.UUID, suffix: str, source: Path) -> Path:
    """Move the received file where its job will find it."""
    folder = upload_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{job_id}{suffix}"
    shutil.move(str(source), target)
    return target


def convert_into_archive(
    *, session: Session, job: OutboundJob, settings: Settings
) -> dict[str, Any]:
    """Convert the job's upload and store every instance; the upload is removed when done."""
    source = Path(job.params["path"])
    institution = job.params.get("institution_id")
    patient = job.params.get("patient_id")
    identity = {k: job.params.get(k, "") for k in ("patient_name", "patient_mrn", "accession")}
    with tempfile.TemporaryDirectory(prefix="slide-") as out:
        # a process of its own: see dicom/slide_convert.py
        done = subprocess.run(
            [sys.executable, "-m", "dicom.slide_convert", str(source), out, json.dumps(identity)],
            capture_output=True,
            text=True,
            timeout=CONVERT_TIMEOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the converter failed: {last}"[:400])
        files = [line for line in done.stdout.splitlines() if line.strip()]
        studies: set[str] = set()
        for name in sorted(files):
            stored = ingest(
                session=session,
                archive=get_archive(settings),
                data=Path(name).read_bytes(),
                institution_id=uuid.UUID(institution) if institution else None,
                source_ae=None,
                source="slide",
                now=clock.now(),
                max_study_bytes=settings.dicom.max_study_bytes,
                patient_id=uuid.UUID(patient) if patient else None,
            )
            studies.add(stored.study_uid)
        job.study_uid = next(iter(studies), "")
        job.total = job.completed = len(files)
    source.unlink(missing_ok=True)
    return {"study_uid": job.study_uid, "instances": len(files)}
