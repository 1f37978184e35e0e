"""Outbound DICOM: C-ECHO a registered AE, C-STORE a study to a PACS, C-FIND/C-MOVE priors.

Jobs run in a background thread with their own database session and report their status
in `dicom_outbound_job` (queued -> running -> done | failed).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from io import BytesIO
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session

from dicom.archive import Archive
from dicom.job_states import FINISHED, JOB
from dicom.models import OutboundJob
from telemed.core import clock
from telemed.network.models import DicomAE

log = logging.getLogger("telemed.dicom.outbound")
Work = Callable[[Session, OutboundJob], dict[str, Any]]
_ = (PatientRootQueryRetrieveInformationModelFind, PatientRootQueryRetrieveInformationModelMove)


def echo(*, ae: DicomAE, calling_ae: str, timeout: float = 10.0) -> tuple[bool, int | None, str]:
    """C-ECHO the peer; returns (ok, status, detail)."""
    if not ae.host:
        return False, None, f"{ae.ae_title} has no host registered"
    local = AE(ae_title=calling_ae)
    local.acse_timeout = local.network_timeout = local.dimse_timeout = timeout
    local.add_requested_context(Verification)
    assoc = local.associate(ae.host, ae.port, ae_title=ae.ae_title)
    if not assoc.is_established:
        return False, None, f"association with {ae.ae_title}@{ae.host}:{ae.port} failed"
    try:
        rsp = assoc.send_c_echo()
        status = int(rsp.Status) if "Status" in rsp else None
        return status == 0, status, "ok" if status == 0 else "C-ECHO failed"
    finally:
        assoc.release()


def send_study(
    *,
    archive: Archive,
    study_uid: str,
    ae: DicomAE,
    calling_ae: str,
    progress: Callable[[int, int], None],
) -> dict[str, Any]:
    """C-STORE every instance of a study to `ae`; returns counts and failures."""
    instances = [pydicom.dcmread(BytesIO(b)) for b in archive.study_instances(study_uid)]
    return send_datasets(datasets=instances, ae=ae, calling_ae=calling_ae, progress=progress)


def send_datasets(
    *,
    datasets: Sequence[Dataset],
    ae: DicomAE,
    calling_ae: str,
    progress: Callable[[int, int], None],
) -> dict[str, Any]:
    """C-STORE the instances to `ae` over one association; returns counts and failures."""
    instances = datasets
    local = AE(ae_title=calling_ae)
    local.network_timeout = local.dimse_timeout = 60
    pairs = sorted({(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in instances})
    for sop_class, ts in pairs[:120]:
        local.add_requested_context(sop_class, [ts])
    assoc = local.associate(ae.host, ae.port, ae_title=ae.ae_title)
    if not assoc.is_established:
        raise ConnectionError(f"association with {ae.ae_title}@{ae.host}:{ae.port} failed")
    done = failed = 0
    failures: list[str] = []
    try:
        for ds in instances:
            rsp = assoc.send_c_store(ds)
            status = int(rsp.Status) if rsp is not None and "Status" in rsp else -1
            if status in (0x0000, 0xB000, 0xB007, 0xB006):
                done += 1
            else:
                failed += 1
                failures.append(f"{ds.SOPInstanceUID}: status {status:#06x}")
            progress(done, failed)
    finally:
        assoc.release()
    return {"sent": done, "failed": failed, "failures": failures[:20], "total": len(instances)}


def find_studies(
    *, ae: DicomAE, calling_ae: str, patient_id: str | None = None, study_uid: str | None = None
) -> list[dict[str, str]]:
    """C-FIND (study root) at the peer; returns the matching studies."""
    local = AE(ae_title=calling_ae)
    local.network_timeout = local.dimse_timeout = 30
    local.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.PatientID = patient_id or ""
    query.StudyInstanceUID = study_uid or ""
    query.PatientName = ""
    query.StudyDate = ""
    query.ModalitiesInStudy = ""
    query.StudyDescription = ""
    query.BodyPartExamined = ""  # a series attribute: answered by PACS that keep it per study
    assoc = local.associate(ae.host, ae.port, ae_title=ae.ae_title)
    if not assoc.is_established:
        raise ConnectionError(f"association with {ae.ae_title}@{ae.host}:{ae.port} failed")
    out = []
    try:
        for status, ident in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
            if status and status.Status in (0xFF00, 0xFF01) and ident is not None:
                out.append(
                    {
                        "study_uid": str(ident.get("StudyInstanceUID", "")),
                        "patient_id": str(ident.get("PatientID", "")),
                        "patient_name": str(ident.get("PatientName", "")),
                        "study_date": str(ident.get("StudyDate", "")),
                        "modalities": _values(ident.get("ModalitiesInStudy", "")),
                        "description": str(ident.get("StudyDescription", "")),
                        "body_part": str(ident.get("BodyPartExamined", "")),
                    }
                )
    finally:
        assoc.release()
    return out


def _values(value: object) -> str:
    """A multi-valued answer (ModalitiesInStudy `CT\\SR`) as DICOM writes it, `\\`-joined."""
    if isinstance(value, str):
        return value
    try:
        return "\\".join(str(v) for v in value)  # type: ignore[attr-defined]
    except TypeError:
        return str(value or "")


def move_study(*, ae: DicomAE, calling_ae: str, study_uid: str, destination: str) -> dict[str, Any]:
    """C-MOVE one study from the peer to `destination` (our gateway's AE title)."""
    local = AE(ae_title=calling_ae)
    local.network_timeout = local.dimse_timeout = 120
    local.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_uid
    assoc = local.associate(ae.host, ae.port, ae_title=ae.ae_title)
    if not assoc.is_established:
        raise ConnectionError(f"association with {ae.ae_title}@{ae.host}:{ae.port} failed")
    last: dict[str, Any] = {}
    try:
        for status, _ident in assoc.send_c_move(
            query, destination, StudyRootQueryRetrieveInformationModelMove
        ):
            if status is None:
                raise ConnectionError("C-MOVE: no response from the peer")
            last = {
                "status": int(status.Status),
                "completed": int(status.get("NumberOfCompletedSuboperations", 0) or 0),
                "failed": int(status.get("NumberOfFailedSuboperations", 0) or 0),
            }
    finally:
        assoc.release()
    return last


# ---------------------------------------------------------------- jobs


def run_job(
    *, engine: Engine, job_id: uuid.UUID, work: Callable[[Session, OutboundJob], dict[str, Any]]
) -> None:
    """Run `work` for a job, recording running/done/failed with timestamps."""
    with Session(engine) as session:
        job = session.get(OutboundJob, job_id)
        if job is None:
            return
        job.status = JOB.next(job.status, "start")
        job.started_at = clock.now()
        job.attempts += 1
        session.commit()
        try:
            result = work(session, job)
            job.status = JOB.next(job.status, "fail" if result.get("failed") else "finish")
            job.result = result
        except Exception as exc:  # a job reports its failure instead of raising
            log.exception("job %s failed", job_id)
            session.rollback()
            job = session.get(OutboundJob, job_id)
            assert job is not None
            job.status = JOB.next(job.status, "fail")
            job.error = f"{type(exc).__name__}: {exc}"[:500]
        job.finished_at = clock.now()
        session.commit()


def start_job(
    *, engine: Engine, job_id: uuid.UUID, work: Callable[[Session, OutboundJob], dict[str, Any]]
) -> threading.Thread:
    t = threading.Thread(
        target=run_job,
        kwargs={"engine": engine, "job_id": job_id, "work": work},
        daemon=True,
        name=f"dicom-job-{job_id}",
    )
    t.start()
    return t


def wait_job(engine: Engine, job_id: uuid.UUID, timeout: float = 60.0) -> OutboundJob:
    """Poll a job until it is finished (tests and the CLI)."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as session:
            job = session.get(OutboundJob, job_id)
            assert job is not None
            if job.status in FINISHED or time.monotonic() > deadline:
                session.expunge(job)
                return job
        time.sleep(0.05)


def new_job(
    *,
    session: Session,
    kind: str,
    study_uid: str,
    ae_id: uuid.UUID | None,
    by: uuid.UUID,
    now: datetime,
    params: dict[str, Any] | None = None,
) -> OutboundJob:
    job = OutboundJob(
        kind=kind,
        study_uid=study_uid,
        ae_id=ae_id,
        requested_by_id=by,
        created_at=now,
        params=params or {},
    )
    session.add(job)
    session.flush()
    return job
