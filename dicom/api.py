"""Routes of imaging: study list, links, C-ECHO, send to PACS, priors, de-identification."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pydicom
from fastapi import APIRouter, BackgroundTasks, FastAPI, Path, Query, Response
from sqlmodel import Session, select

from dicom import api_ecg, api_reading, deid, deid_pixels, jobs, outbound, priors, service, worklist
from dicom.archive import ArchiveDep, ArchiveError, ArchiveUnavailable
from dicom.demographics import dicom_demographics
from dicom.models import JobKind, OutboundJob, StudyLink
from dicom.schemas import (
    AssignmentCheck,
    DeidentifyRequest,
    EchoResult,
    JobPublic,
    PatientDemographics,
    SendRequest,
    StudyAssign,
    StudyAssigned,
    StudyLinkCreate,
    StudyLinkPublic,
    StudySummary,
    UIDPath,
    UnmatchedStudy,
    WorklistItemPublic,
)
from telemed.core import audit
from telemed.core.db import get_engine, get_or_404
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden, Invalid, NotFound, Unavailable
from telemed.core.pagination import Page, PageDep
from telemed.core.settings import Settings, get_settings
from telemed.identity.deps import ClientIP, CurrentUser, StaffUser
from telemed.identity.models import Role, User
from telemed.network.models import DicomAE


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the storage gateway + forwarder in-process when enabled (`make run`)."""
    settings = get_settings()
    running: list[Any] = []
    if settings.dicom.gateway_enabled:
        from dicom.runtime import start_gateway

        running.extend(start_gateway(settings))
    try:
        yield
    finally:
        for thing in reversed(running):
            thing.stop()


router = APIRouter(prefix="/api/v1", tags=["imaging"], lifespan=lifespan)


@router.get("/studies", response_model=Page[StudySummary])
def list_studies(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    now: NowDep,
    ip: ClientIP,
    patient_id: uuid.UUID | None = None,
    modality: Annotated[str | None, Query(max_length=16)] = None,
) -> Page[StudySummary]:
    """The studies the caller may see: patient, modality, date, counts, size, origin."""
    items, total = service.list_studies(
        session=session,
        user=user,
        limit=page.limit,
        offset=page.offset,
        patient_id=patient_id,
        modality=modality,
    )
    audit.read(
        session,
        user,
        object_type="study",
        patient_ids=[i.patient_id for i in items],
        object_ids=[i.study_uid for i in items],
        what="list",
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/studies/{study_uid}", response_model=StudySummary)
def get_study(
    study_uid: UIDPath, session: SessionDep, user: CurrentUser, now: NowDep, ip: ClientIP
) -> StudySummary:
    study = service.get_visible_study(session=session, user=user, study_uid=study_uid)
    service.record_access(session=session, user=user, study=study, what="summary", now=now, ip=ip)
    return service.summary_of(session, study)


@router.post("/studies/{study_uid}/links", response_model=StudyLinkPublic, status_code=201)
def link_study(
    study_uid: UIDPath, body: StudyLinkCreate, session: SessionDep, user: StaffUser, now: NowDep
) -> StudyLinkPublic:
    """Link a study to a consultation or referral (who may: `dicom.policy`)."""
    link = service.link_study(
        session=session,
        study_uid=study_uid,
        target_type=body.target_type,
        target_id=body.target_id,
        by=user,
        now=now,
    )
    return StudyLinkPublic.model_validate(link, from_attributes=True)


@router.delete("/studies/{study_uid}/links/{target_type}/{target_id}", status_code=204)
def unlink_study(
    study_uid: UIDPath,
    target_type: Annotated[str, Path(pattern="^(consultation|referral)$")],
    target_id: uuid.UUID,
    session: SessionDep,
    user: StaffUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    """Remove a study's link to a consultation or referral (who may: `dicom.policy`)."""
    service.unlink_study(
        session=session,
        study_uid=study_uid,
        target_type=target_type,
        target_id=target_id,
        by=user,
        now=now,
        ip=ip,
    )
    return Response(status_code=204)


@router.get("/studies/{study_uid}/links", response_model=list[StudyLinkPublic])
def study_links(
    study_uid: UIDPath, session: SessionDep, user: CurrentUser, now: NowDep
) -> list[StudyLinkPublic]:
    study = service.get_visible_study(session=session, user=user, study_uid=study_uid)
    service.record_access(session=session, user=user, study=study, what="links", now=now)
    rows = session.exec(select(StudyLink).where(StudyLink.study_id == study.id)).all()
    return [StudyLinkPublic.model_validate(r, from_attributes=True) for r in rows]


# ---------------------------------------------------------------- outbound


def _ae_for(session: Session, user: User, ae_id: uuid.UUID) -> DicomAE:
    ae = get_or_404(session, DicomAE, ae_id, "AE")
    if user.role not in (Role.ADMIN, Role.COORDINATOR) and ae.institution_id != user.institution_id:
        raise Forbidden("this AE belongs to another institution")
    return ae


@router.post("/network/aes/{ae_id}/echo", response_model=EchoResult)
def echo_ae(
    ae_id: uuid.UUID, session: SessionDep, user: StaffUser, settings: SettingsDep
) -> EchoResult:
    """C-ECHO a registered AE (is the peer reachable and speaking DICOM?)."""
    ae = _ae_for(session, user, ae_id)
    started = time.perf_counter()
    ok, status, detail = outbound.echo(ae=ae, calling_ae=settings.dicom.ae_title)
    return EchoResult(
        ae_id=ae.id,
        ae_title=ae.ae_title,
        ok=ok,
        status=status,
        detail=detail,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def _start(tasks: BackgroundTasks, job: OutboundJob, settings: Settings) -> None:
    """Run the job after the response (its row is committed by then); `telemed jobs`
    runs it again if this process stops first."""
    tasks.add_task(
        outbound.run_job, engine=get_engine(), job_id=job.id, work=jobs.work_for(job, settings)
    )


def _job_public(job: OutboundJob) -> JobPublic:
    return JobPublic.model_validate(job, from_attributes=True)


@router.post("/studies/{study_uid}/send", response_model=JobPublic, status_code=202)
def send_study(
    study_uid: UIDPath,
    body: SendRequest,
    session: SessionDep,
    user: StaffUser,
    settings: SettingsDep,
    now: NowDep,
    ip: ClientIP,
    tasks: BackgroundTasks,
) -> JobPublic:
    """Send a study to a registered PACS of the reader's hospital (C-STORE job)."""
    study = service.get_visible_study(session=session, user=user, study_uid=study_uid)
    ae = _ae_for(session, user, body.ae_id)
    if ae.kind != "pacs" or not ae.host:
        raise Invalid("the destination must be a registered PACS with a host", field="ae_id")
    job = outbound.new_job(
        session=session, kind=JobKind.SEND, study_uid=study_uid, ae_id=ae.id, by=user.id, now=now
    )
    service.record_access(
        session=session,
        user=user,
        study=study,
        what="send",
        now=now,
        ip=ip,
        detail={"ae": ae.ae_title, "job": str(job.id)},
    )
    _start(tasks, job, settings)
    return _job_public(job)


@router.get("/dicom/jobs/{job_id}", response_model=JobPublic)
def get_job(job_id: uuid.UUID, session: SessionDep, user: StaffUser) -> JobPublic:
    job = session.get(OutboundJob, job_id)
    if job is None or (user.role != Role.ADMIN and job.requested_by_id != user.id):
        raise NotFound(f"job {job_id} not found")
    return _job_public(job)


@router.post(
    "/studies/{study_uid}/priors/{prior_uid}/retrieve", response_model=JobPublic, status_code=202
)
def retrieve_prior(
    study_uid: UIDPath,
    prior_uid: UIDPath,
    session: SessionDep,
    user: StaffUser,
    settings: SettingsDep,
    now: NowDep,
    tasks: BackgroundTasks,
) -> JobPublic:
    """C-MOVE a prior from the county PACS to our gateway; it joins the study's links."""
    study = service.get_visible_study(session=session, user=user, study_uid=study_uid)
    pacs = priors.county_pacs(session, study)
    job = outbound.new_job(
        session=session,
        kind=JobKind.RETRIEVE,
        study_uid=prior_uid,
        ae_id=pacs.id,
        by=user.id,
        now=now,
        params={"source_study_id": str(study.id)},
    )
    _start(tasks, job, settings)
    return _job_public(job)


@router.post("/studies/{study_uid}/deidentify", response_model=JobPublic, status_code=202)
def deidentify_study(
    study_uid: UIDPath,
    session: SessionDep,
    user: StaffUser,
    settings: SettingsDep,
    now: NowDep,
    ip: ClientIP,
    tasks: BackgroundTasks,
    archive: ArchiveDep,
    body: DeidentifyRequest | None = None,
) -> JobPublic:
    """A de-identified copy for teaching (PS3.15 Annex E); refused with a reason when unsafe."""
    study = service.get_visible_study(session=session, user=user, study_uid=study_uid)
    options = jobs.deid_options(body or DeidentifyRequest(), settings)
    try:
        metadata = archive.metadata(study_uid)
    except ArchiveUnavailable as exc:
        raise Unavailable(f"the image archive is unavailable: {exc}") from exc
    except ArchiveError as exc:
        raise NotFound(f"study {study_uid} is not in the archive yet") from exc
    for item in metadata:
        ds = pydicom.Dataset.from_json(item)
        cleanable = options.clean_pixel_data and (
            deid_pixels.rule_for(ds, settings.dicom.deid_pixel_regions) is not None
        )
        reason = deid.refusal_reason(ds, pixels_cleaned=cleanable)
        if reason:
            raise Invalid(
                f"cannot de-identify: {reason}", field="study_uid", code="not_deidentifiable"
            )
    job = outbound.new_job(
        session=session,
        kind=JobKind.DEIDENTIFY,
        study_uid=study_uid,
        ae_id=None,
        by=user.id,
        now=now,
        params={
            "institution_id": str(user.institution_id) if user.institution_id else None,
            "options": deid.as_params(options),
        },
    )
    service.record_access(
        session=session, user=user, study=study, what="deidentify", now=now, ip=ip
    )
    _start(tasks, job, settings)
    return _job_public(job)


# ---------------------------------------------------------------- worklist, reconciliation


@router.get("/dicom/worklist", response_model=list[WorklistItemPublic])
def hospital_worklist(
    session: SessionDep,
    user: StaffUser,
    now: NowDep,
    ip: ClientIP,
    target_id: uuid.UUID | None = None,
    status: Annotated[str | None, Query(pattern="^(scheduled|completed|cancelled)$")] = None,
) -> list[WorklistItemPublic]:
    """The modality worklist of the caller's hospital (what its modalities see by C-FIND)."""
    if user.institution_id is None:
        raise Forbidden("only staff of a hospital have a worklist")
    items = worklist.orders_for_institution(
        session=session, institution_id=user.institution_id, target_id=target_id, status=status
    )
    aes = worklist.modality_aes(session=session, institution_id=user.institution_id)
    for item in items:
        audit.record(
            session=session,
            actor_id=user.id,
            actor_role=user.role,
            action="read",
            object_type="worklist_item",
            object_id=item.id,
            patient_id=item.patient_id,
            ip=ip,
            at=now,
        )
    return [
        WorklistItemPublic.model_validate(
            {**item.model_dump(), "scheduled_station_aes": aes}, from_attributes=False
        )
        for item in items
    ]


@router.get("/dicom/reconciliation", response_model=Page[UnmatchedStudy])
def reconciliation_list(
    session: SessionDep, user: CurrentUser, page: PageDep, now: NowDep, ip: ClientIP
) -> Page[UnmatchedStudy]:
    """Studies the caller's hospital sent that matched no order (doctors of that hospital)."""
    studies, total = service.unmatched_studies(
        session=session, user=user, limit=page.limit, offset=page.offset
    )
    for study in studies:
        service.record_access(
            session=session, user=user, study=study, what="reconciliation-list", now=now, ip=ip
        )
    items = [
        UnmatchedStudy(study=service.summary_of(session, s), dicom=dicom_demographics(s))
        for s in studies
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/dicom/reconciliation/{study_uid}/compare", response_model=AssignmentCheck)
def reconciliation_compare(
    study_uid: UIDPath,
    patient_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> AssignmentCheck:
    """The study's DICOM demographics beside a candidate patient's, with the disagreements."""
    study, patient, mismatches = service.compare_for_assignment(
        session=session, user=user, study_uid=study_uid, patient_id=patient_id
    )
    service.record_access(
        session=session,
        user=user,
        study=study,
        what="reconciliation-compare",
        now=now,
        ip=ip,
        detail={"candidate_patient_id": str(patient.id)},
        patient_id=patient.id,
    )
    return AssignmentCheck(
        study_uid=study.study_uid,
        dicom=dicom_demographics(study),
        patient=PatientDemographics(
            id=patient.id, name=patient.name, sex=patient.sex, birth_date=patient.birth_date
        ),
        mismatches=mismatches,
    )


@router.post("/dicom/reconciliation/{study_uid}/assign", response_model=StudyAssigned)
def reconciliation_assign(
    study_uid: UIDPath,
    body: StudyAssign,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> StudyAssigned:
    """Assign an unmatched study to a patient (and optionally a request of this hospital)."""
    study, mismatches = service.assign_study(
        session=session,
        user=user,
        study_uid=study_uid,
        patient_id=body.patient_id,
        consultation_id=body.consultation_id,
        confirm_mismatch=body.confirm_mismatch,
        now=now,
        ip=ip,
    )
    return StudyAssigned(study=service.summary_of(session, study), mismatches=mismatches)


router.include_router(api_reading.router)
# ---------------------------------------------------------------- the ECG reader (dicom.api_ecg)

router.include_router(api_ecg.router)
