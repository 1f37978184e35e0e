"""What each imaging job does, rebuilt from its row: jobs survive a restart.

A job's work is a function of its row (kind, study UID, AE, `params`) and the settings, so
the API starts it in the background right away and `recover` (run by `telemed jobs`) runs
again what a stopped process left queued or running. A job is given up as failed after
`MAX_ATTEMPTS` starts. Its states are `dicom.job_states`.

A retrieval (C-MOVE of priors from a county PACS) stores nothing itself: the PACS sends the
instances to our gateway, where they come in like any C-STORE (`dicom.ingest.receive`,
spool first); the job waits for the study in the index and links it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any

import pydicom
from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dicom import deid, deid_pixels, job_states, outbound, policy, slides
from dicom.archive import get_archive
from dicom.ingest import ingest
from dicom.models import JobKind, OutboundJob, Study, StudyLink
from dicom.schemas import DeidentifyRequest
from telemed.core import clock
from telemed.core.settings import Settings
from telemed.network.models import DicomAE

log = logging.getLogger("telemed.dicom.jobs")

Work = Callable[[Session, OutboundJob], dict[str, Any]]

STALE_AFTER = timedelta(minutes=30)  # queued/running this long: its process is gone
MAX_ATTEMPTS = 3


def _opinion_sr() -> Any:
    """`dicom.opinion_sr`, imported when its first job runs (it loads highdicom)."""
    from dicom import opinion_sr

    return opinion_sr


def work_for(job: OutboundJob, settings: Settings) -> Work:
    """The work of a job, from its row alone."""
    builders: dict[str, Callable[[OutboundJob, Settings], Work]] = {
        JobKind.SEND: _send,
        JobKind.RETRIEVE: _retrieve,
        JobKind.DEIDENTIFY: _deidentify,
        JobKind.OPINION_SR: lambda _job, s: _opinion_sr().work_for(s),
        JobKind.CONVERT_SLIDE: _convert_slide,
    }
    return builders[job.kind](job, settings)


def _ae(session: Session, job: OutboundJob) -> DicomAE:
    ae = session.get(DicomAE, job.ae_id)
    if ae is None:
        raise LookupError(f"AE {job.ae_id} is no longer registered")
    return ae


def _send(job: OutboundJob, settings: Settings) -> Work:
    def work(session: Session, j: OutboundJob) -> dict[str, Any]:
        def progress(done: int, failed: int) -> None:
            j.completed, j.failed = done, failed
            session.commit()

        result = outbound.send_study(
            archive=get_archive(settings),
            study_uid=j.study_uid,
            ae=_ae(session, j),
            calling_ae=settings.dicom.ae_title,
            progress=progress,
        )
        j.total = result["total"]
        return result

    return work


def _retrieve(job: OutboundJob, settings: Settings) -> Work:
    def work(session: Session, j: OutboundJob) -> dict[str, Any]:
        calling = settings.dicom.ae_title
        result = outbound.move_study(
            ae=_ae(session, j), calling_ae=calling, study_uid=j.study_uid, destination=calling
        )
        j.completed, j.failed = result.get("completed", 0), result.get("failed", 0)
        deadline = time.monotonic() + 60
        prior = None
        while time.monotonic() < deadline:  # the gateway's forwarder indexes it
            prior = session.exec(select(Study).where(Study.study_uid == j.study_uid)).first()
            if prior is not None:
                break
            session.rollback()
            time.sleep(0.2)
        if prior is not None:
            _copy_links(session, j, prior, uuid.UUID(j.params["source_study_id"]))
        return {**result, "indexed": prior is not None}

    return work


def _copy_links(session: Session, j: OutboundJob, prior: Study, source_study_id: uuid.UUID) -> None:
    """The prior joins every consultation/referral its current study is linked to, when
    `dicom.policy.may_join_links` allows (same sender, same DICOM patient)."""
    current = session.get(Study, source_study_id)
    if current is None or not policy.may_join_links(prior, current):
        log.warning(
            "prior %s does not join the links of study %s (other sender or patient)",
            prior.study_uid,
            source_study_id,
        )
        return
    for link in session.exec(select(StudyLink).where(StudyLink.study_id == source_study_id)):
        exists = session.exec(
            select(StudyLink).where(
                StudyLink.study_id == prior.id,
                StudyLink.target_type == link.target_type,
                StudyLink.target_id == link.target_id,
            )
        ).first()
        if exists is None:
            session.add(
                StudyLink(
                    study_id=prior.id,
                    study_uid=prior.study_uid,
                    target_type=link.target_type,
                    target_id=link.target_id,
                    linked_by_id=j.requested_by_id,
                    created_at=link.created_at,
                )
            )


def deid_options(request: DeidentifyRequest, settings: Settings) -> deid.Options:
    """The options of a copy: the request's, else the TELEMED_DICOM__DEID_* defaults."""
    d = settings.dicom

    def pick(value: bool | None, default: bool) -> bool:
        return default if value is None else value

    return deid.Options(
        retain_patient_characteristics=pick(
            request.retain_patient_characteristics, d.deid_retain_patient_characteristics
        ),
        retain_device_identity=pick(request.retain_device_identity, d.deid_retain_device_identity),
        retain_safe_private=d.deid_retain_safe_private,
        clean_pixel_data=request.clean_pixel_data,
    )


def _convert_slide(job: OutboundJob, settings: Settings) -> Work:
    def work(session: Session, j: OutboundJob) -> dict[str, Any]:
        return slides.convert_into_archive(session=session, job=j, settings=settings)

    return work


def _deidentify(job: OutboundJob, settings: Settings) -> Work:
    def work(session: Session, j: OutboundJob) -> dict[str, Any]:
        institution = j.params.get("institution_id")
        return deidentify_into_archive(
            session=session,
            study_uid=j.study_uid,
            secret=settings.security.secret_key,
            institution_id=uuid.UUID(institution) if institution else None,
            max_study_bytes=settings.dicom.max_study_bytes,
            settings=settings,
            options=deid.Options(**j.params.get("options", {})),
        )

    return work


def deidentify_into_archive(
    *,
    session: Session,
    study_uid: str,
    secret: str,
    institution_id: uuid.UUID | None,
    max_study_bytes: int,
    settings: Settings | None = None,
    options: deid.Options | None = None,
) -> dict[str, Any]:
    """De-identify every instance of a study and store the copy (a new study UID).

    With `options.clean_pixel_data` the clean-pixel step runs on each instance a region rule
    matches, and only those copies declare Clean Pixel Data. The result records the profile
    and, per option code, how many instances declare it (what a later "publish" checks).
    """
    options = options or deid.Options()
    regions = settings.dicom.deid_pixel_regions if settings else None
    archive = get_archive(settings)
    p = deid.Pseudonymizer(secret)
    new_uid = p.uid(study_uid)
    count = 0
    declared: dict[str, int] = {}
    for data in archive.study_instances(study_uid):
        ds = pydicom.dcmread(BytesIO(data))
        cleaned = options.clean_pixel_data and deid_pixels.clean_pixels(ds, regions)
        copy = deid.deidentify(ds, p, options, pixels_cleaned=cleaned)
        for code in deid.copy_options(copy) or []:
            declared[code] = declared.get(code, 0) + 1
        buf = BytesIO()
        copy.save_as(buf, enforce_file_format=True)
        ingest(
            session=session,
            archive=archive,
            data=buf.getvalue(),
            institution_id=institution_id,
            source_ae=None,
            source="deid",
            now=clock.now(),
            max_study_bytes=max_study_bytes,
        )
        count += 1
    return {
        "deidentified_study_uid": new_uid,
        "instances": count,
        "deidentified_copy": True,
        "profile": deid.profile_name(),
        "method_codes": declared,
    }


def recover(*, engine: Engine, settings: Settings, now: datetime) -> int:
    """Run again the jobs a stopped process left queued or running; returns how many ran.

    Each stale job is claimed with one conditional UPDATE (so two recoverers never run the
    same job); after `MAX_ATTEMPTS` starts it is failed with a reason instead.
    """
    cutoff = now - STALE_AFTER
    is_stale = col(OutboundJob.status).in_(job_states.sources("requeue")) & or_(
        col(OutboundJob.started_at) < cutoff,
        col(OutboundJob.started_at).is_(None) & (col(OutboundJob.created_at) < cutoff),
    )
    with Session(engine) as session:
        stale = session.exec(select(OutboundJob.id).where(is_stale)).all()
    ran = 0
    for job_id in stale:
        with Session(engine) as session:
            claimed = session.execute(
                update(OutboundJob)
                .where(col(OutboundJob.id) == job_id, is_stale)
                .values(status=job_states.target("requeue"), started_at=now)  # ours for STALE_AFTER
            )
            session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            job = session.get(OutboundJob, job_id)
            assert job is not None
            if job.attempts >= MAX_ATTEMPTS:
                job.status = job_states.JOB.next(job.status, "fail")
                job.error = f"interrupted {job.attempts} times; given up"
                job.finished_at = now
                session.commit()
                continue
            work = work_for(job, settings)
        log.info("re-running interrupted job %s (%s)", job_id, job.kind)
        outbound.run_job(engine=engine, job_id=job_id, work=work)
        ran += 1
    return ran
