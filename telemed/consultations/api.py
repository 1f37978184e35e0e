"""HTTP API of remote consultations: `/api/v1/consultations`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, File, Form, Header, Query, UploadFile
from fastapi.responses import Response

from telemed.consultations import payments, pdf, policy, service, signing
from telemed.consultations.models import Consultation, Opinion
from telemed.consultations.schemas import (
    AcceptBody,
    ComplianceReport,
    ConsentCreate,
    ConsentPublic,
    ConsultationCreate,
    ConsultationPublic,
    ConsultationUpdate,
    DocumentPublic,
    FeePublic,
    FeeSet,
    ImagingOrderPublic,
    KeyPublic,
    OpinionCorrection,
    OpinionPublic,
    OpinionWrite,
    PaymentPublic,
    Proposal,
    ProposalQuery,
    ReasonBody,
    RedirectBody,
    ScheduleBody,
    ServiceClassPublic,
    StudyAttach,
    StudyPublic,
    TransitionPublic,
    VerifyResult,
)
from telemed.consultations.service_classes import SERVICE_CLASSES
from telemed.consultations.service_levels import class_levels, compliance
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden, NotFound
from telemed.core.pagination import Page, PageDep
from telemed.core.settings import Settings
from telemed.identity.deps import AdminUser, ClientIP, CurrentUser, StaffUser
from telemed.identity.models import Patient, Role, User
from telemed.network.models import Institution

router = APIRouter(prefix="/api/v1/consultations", tags=["consultations"])


def _public(user: User, c: Consultation) -> ConsultationPublic:
    out = ConsultationPublic.model_validate(c)
    out.allowed_actions = service.allowed_actions(user, c)
    out.my_relations = sorted(policy.relations(user, c))
    return out


# ------------------------------------------------------------ reference, reports, keys


@router.get("/service-classes", response_model=list[ServiceClassPublic])
def service_classes(settings: SettingsDep) -> list[ServiceClassPublic]:
    """The 11 kinds of remote service with their needs and effective service levels."""
    levels = class_levels(settings.consultations)
    return [
        ServiceClassPublic(
            code=i.code,
            name_zh=i.name_zh,
            name_en=i.name_en,
            live_session=i.live_session,
            expected_attachments=list(i.expected_attachments),
            accept_minutes=levels[i.code][0],
            report_minutes=levels[i.code][1],
        )
        for i in SERVICE_CLASSES.values()
    ]


@router.get("/service-levels", response_model=ComplianceReport)
def service_levels(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    start: datetime | None = None,
    end: datetime | None = None,
    institution_id: uuid.UUID | None = None,
    league: str | None = None,
    service_class: str | None = None,
) -> ComplianceReport:
    """Compliance with the service levels per receiving institution, league and service class."""
    if user.role not in (Role.COORDINATOR, Role.ADMIN):
        raise Forbidden("the service-level report is for coordinators and administrators")
    return compliance(
        session=session,
        now=now,
        start=start,
        end=end,
        institution_id=institution_id,
        league=league,
        service_class=service_class,
    )


@router.get("/keys/{user_id}", response_model=list[KeyPublic])
def public_keys(user_id: uuid.UUID, session: SessionDep) -> list[KeyPublic]:
    """A specialist's published signing keys (public: anyone may verify)."""
    return [
        KeyPublic(
            key_id=k.id,
            user_id=k.user_id,
            algorithm=signing.ALGORITHM,
            public_key=k.public_key,
            public_key_pem=signing.public_pem(k),
            fingerprint=k.fingerprint,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
        )
        for k in service.keys_of(session=session, user_id=user_id)
    ]


@router.get("/fees", response_model=list[FeePublic])
def list_fees(session: SessionDep, user: StaffUser) -> list[Any]:
    """The fee schedule per service class and receiving hospital tier."""
    return payments.list_fees(session=session)


@router.put("/fees", response_model=FeePublic)
def set_fee(body: FeeSet, session: SessionDep, user: AdminUser, now: NowDep) -> Any:
    """Set one fee (admins)."""
    return payments.set_fee(
        session=session,
        service_class=body.service_class,
        tier=body.tier,
        amount_cents=body.amount_cents,
        currency=body.currency,
        by_id=user.id,
        now=now,
    )


@router.post("/proposals", response_model=list[Proposal])
def proposals(body: ProposalQuery, session: SessionDep, user: StaffUser, now: NowDep) -> Any:
    """Preview where a request would go under the routing rule (docs/routing.md), each
    candidate with its reason; with `patient_id`, routed from that patient."""
    if user.institution_id is None:
        raise Forbidden("proposals are computed for a requesting institution")
    return service.propose(
        patient_id=body.patient_id,
        check_patient=True,
        urgency=body.urgency,
        session=session,
        viewer=user,
        requesting_institution_id=user.institution_id,
        service_class=body.service_class,
        specialty=body.wanted_specialty,
        title=body.wanted_title,
        institution_id=body.institution_id,
        now=now,
        limit=body.limit,
    )


# ------------------------------------------------------------ requests


@router.get("", response_model=Page[ConsultationPublic])
def worklist(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    role: Annotated[
        str | None, Query(description="requester | specialist | coordinator | patient")
    ] = None,
    state: str | None = None,
) -> Page[ConsultationPublic]:
    """The caller's worklist (default by their role)."""
    rows, total = service.worklist(
        session=session,
        user=user,
        role=role or service.default_role(user),
        state=state,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[_public(user, c) for c in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", response_model=ConsultationPublic, status_code=201)
def create(
    body: ConsultationCreate,
    session: SessionDep,
    user: StaffUser,
    now: NowDep,
    ip: ClientIP,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ConsultationPublic:
    """Start a request (draft); an `Idempotency-Key` makes retries return the same request."""
    c = service.create(
        session=session, by=user, data=body, now=now, ip=ip, idempotency_key=idempotency_key
    )
    return _public(user, c)


@router.get("/{consultation_id}", response_model=ConsultationPublic)
def get_one(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> ConsultationPublic:
    c = service.read(session=session, user=user, consultation_id=consultation_id)
    return _public(user, c)


@router.patch("/{consultation_id}", response_model=ConsultationPublic)
def update(
    consultation_id: uuid.UUID,
    body: ConsultationUpdate,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> ConsultationPublic:
    c = service.update_draft(
        session=session, consultation_id=consultation_id, by=user, data=body, now=now
    )
    return _public(user, c)


@router.get("/{consultation_id}/history", response_model=list[TransitionPublic])
def history(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    """Every transition: who, when, why, from, to."""
    service.read(session=session, user=user, consultation_id=consultation_id, what="history")
    return service.history(session=session, consultation_id=consultation_id)


@router.post("/{consultation_id}/consent", response_model=ConsentPublic, status_code=201)
def consent(
    consultation_id: uuid.UUID,
    body: ConsentCreate,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> Any:
    """Record the patient's informed consent."""
    return service.record_consent(
        session=session, consultation_id=consultation_id, by=user, data=body, now=now
    )


@router.get("/{consultation_id}/consent", response_model=list[ConsentPublic])
def consent_list(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    service.read(session=session, user=user, consultation_id=consultation_id, what="consent")
    return service.consents(session=session, consultation_id=consultation_id)


@router.post("/{consultation_id}/documents", response_model=DocumentPublic, status_code=201)
async def upload_document(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
    kind: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
) -> Any:
    """Attach a document (multipart: kind, file)."""
    limit = settings.consultations.max_document_bytes
    content = await file.read(limit + 1)
    return service.add_document(
        session=session,
        consultation_id=consultation_id,
        by=user,
        kind=kind,
        filename=file.filename or "document",
        content_type=file.content_type or "application/octet-stream",
        content=content,
        now=now,
        max_bytes=limit,
    )


@router.get("/{consultation_id}/documents", response_model=list[DocumentPublic])
def list_documents(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    service.read(session=session, user=user, consultation_id=consultation_id, what="documents")
    return service.documents(session=session, consultation_id=consultation_id)


@router.get("/{consultation_id}/documents/{document_id}")
def download_document(
    consultation_id: uuid.UUID,
    document_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
) -> Response:
    doc = service.read_document(
        session=session, consultation_id=consultation_id, document_id=document_id, by=user
    )
    return Response(
        doc.content,
        media_type=doc.content_type,
        headers={"X-Content-SHA256": doc.sha256, "Cache-Control": "no-store"},
    )


@router.post("/{consultation_id}/studies", response_model=StudyPublic, status_code=201)
def attach_study(
    consultation_id: uuid.UUID,
    body: StudyAttach,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> Any:
    """Link a DICOM study (who may: `dicom.policy`; the requester, while the request is open)."""
    return service.attach_study(
        session=session, consultation_id=consultation_id, by=user, study_uid=body.study_uid, now=now
    )


@router.delete("/{consultation_id}/studies/{study_uid}", status_code=204)
def detach_study(
    consultation_id: uuid.UUID,
    study_uid: str,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    """Unlink a study from the request (same rule as linking); its readers lose it at once."""
    service.detach_study(
        session=session,
        consultation_id=consultation_id,
        by=user,
        study_uid=study_uid,
        now=now,
        ip=ip,
    )
    return Response(status_code=204)


@router.get("/{consultation_id}/studies", response_model=list[StudyPublic])
def list_studies(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    service.read(session=session, user=user, consultation_id=consultation_id, what="studies")
    return service.studies(session=session, consultation_id=consultation_id)


@router.get("/{consultation_id}/imaging-orders", response_model=list[ImagingOrderPublic])
def list_imaging_orders(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    """The request's imaging orders (modality worklist entries): accession number, status."""
    service.read(session=session, user=user, consultation_id=consultation_id, what="imaging_orders")
    return service.imaging_orders(session=session, consultation_id=consultation_id)


@router.get("/{consultation_id}/proposals", response_model=list[Proposal])
def proposals_for(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep
) -> Any:
    """Where this request would go (same rules as at submission)."""
    c = service.load_visible(session=session, user=user, consultation_id=consultation_id)
    return service.propose(
        session=session,
        viewer=user,
        requesting_institution_id=c.requesting_institution_id,
        service_class=c.service_class,
        specialty=c.wanted_specialty,
        title=c.wanted_title,
        institution_id=c.chosen_institution_id,
        patient_id=c.patient_id,
        urgency=c.urgency,
        now=now,
    )


# ------------------------------------------------------------ workflow


@router.post("/{consultation_id}/submit", response_model=ConsultationPublic)
def submit(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
) -> ConsultationPublic:
    c = service.submit(
        session=session, consultation_id=consultation_id, by=user, now=now, settings=settings
    )
    return _public(user, c)


@router.post("/{consultation_id}/accept", response_model=ConsultationPublic)
def accept(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
    body: AcceptBody | None = None,
) -> ConsultationPublic:
    c = service.accept(
        session=session,
        consultation_id=consultation_id,
        by=user,
        data=body or AcceptBody(),
        now=now,
        settings=settings,
    )
    return _public(user, c)


@router.post("/{consultation_id}/decline", response_model=ConsultationPublic)
def decline(
    consultation_id: uuid.UUID,
    body: ReasonBody,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> ConsultationPublic:
    c = service.decline(
        session=session, consultation_id=consultation_id, by=user, reason=body.reason, now=now
    )
    return _public(user, c)


@router.post("/{consultation_id}/redirect", response_model=ConsultationPublic)
def redirect(
    consultation_id: uuid.UUID,
    body: RedirectBody,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
) -> ConsultationPublic:
    c = service.redirect(
        session=session,
        consultation_id=consultation_id,
        by=user,
        reason=body.reason,
        institution_id=body.institution_id,
        specialist_id=body.specialist_id,
        now=now,
        settings=settings,
    )
    return _public(user, c)


@router.post("/{consultation_id}/schedule", response_model=ConsultationPublic)
def schedule(
    consultation_id: uuid.UUID,
    body: ScheduleBody,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> ConsultationPublic:
    c = service.schedule(
        session=session, consultation_id=consultation_id, by=user, slot_id=body.slot_id, now=now
    )
    return _public(user, c)


@router.post("/{consultation_id}/start", response_model=ConsultationPublic)
def start(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep
) -> ConsultationPublic:
    c = service.start_session(session=session, consultation_id=consultation_id, by=user, now=now)
    return _public(user, c)


@router.post("/{consultation_id}/cancel", response_model=ConsultationPublic)
def cancel(
    consultation_id: uuid.UUID,
    body: ReasonBody,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> ConsultationPublic:
    c = service.cancel(
        session=session, consultation_id=consultation_id, by=user, reason=body.reason, now=now
    )
    return _public(user, c)


@router.post("/{consultation_id}/acknowledge", response_model=ConsultationPublic)
def acknowledge(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep
) -> ConsultationPublic:
    """The requesting doctor confirms receipt of the signed opinion; the request closes."""
    c = service.acknowledge(session=session, consultation_id=consultation_id, by=user, now=now)
    return _public(user, c)


@router.post("/{consultation_id}/payments", response_model=ConsultationPublic)
def pay(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep
) -> ConsultationPublic:
    """Pay the fee through the payment provider (the sandbox today)."""
    c = service.pay(session=session, consultation_id=consultation_id, by=user, now=now)
    return _public(user, c)


@router.get("/{consultation_id}/payments", response_model=list[PaymentPublic])
def list_payments(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    service.read(session=session, user=user, consultation_id=consultation_id, what="payments")
    return payments.payments_of(session=session, consultation_id=consultation_id)


# ------------------------------------------------------------ opinion


@router.put("/{consultation_id}/opinion", response_model=OpinionPublic)
def write_opinion(
    consultation_id: uuid.UUID,
    body: OpinionWrite,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> Any:
    """Write the draft opinion (assigned specialist)."""
    return service.save_draft(
        session=session, consultation_id=consultation_id, by=user, data=body, now=now
    )


@router.post("/{consultation_id}/opinion/sign", response_model=OpinionPublic)
def sign_opinion(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
) -> Any:
    """Sign the draft: Ed25519 over its canonical JSON; it can never change afterwards."""
    return service.sign(
        session=session, consultation_id=consultation_id, by=user, now=now, settings=settings
    )


@router.post(
    "/{consultation_id}/opinion/corrections", response_model=OpinionPublic, status_code=201
)
def correct_opinion(
    consultation_id: uuid.UUID,
    body: OpinionCorrection,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
) -> Any:
    """A correction: a new signed version."""
    return service.correct(
        session=session,
        consultation_id=consultation_id,
        by=user,
        data=body,
        now=now,
        settings=settings,
    )


@router.get("/{consultation_id}/opinion", response_model=OpinionPublic)
def read_opinion(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    version: int | None = None,
) -> Any:
    return service.opinion_for(
        session=session, consultation_id=consultation_id, by=user, version=version
    )


@router.get("/{consultation_id}/opinion/versions", response_model=list[OpinionPublic])
def opinion_versions(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    return service.opinion_versions(session=session, consultation_id=consultation_id, by=user)


@router.get("/{consultation_id}/opinion/verify", response_model=VerifyResult)
def verify_opinion(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser, version: int | None = None
) -> VerifyResult:
    """Check the signature against the published key and the stored content."""
    return service.verify(
        session=session, consultation_id=consultation_id, by=user, version=version
    )


@router.get("/{consultation_id}/opinion.pdf")
def opinion_pdf(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    version: int | None = None,
) -> Response:
    """The signed opinion, printable."""
    op: Opinion = service.opinion_for(
        session=session, consultation_id=consultation_id, by=user, version=version
    )
    if op.signed_at is None or op.key_id is None:
        raise NotFound("no signed opinion")
    c = service.get_consultation(session=session, consultation_id=consultation_id)
    key = session.get(signing.SpecialistKey, op.key_id)
    patient = session.get(Patient, c.patient_id)
    requester = session.get(User, c.requesting_doctor_id)
    author = session.get(User, op.author_id)
    requesting = session.get(Institution, c.requesting_institution_id)
    receiving = (
        session.get(Institution, c.receiving_institution_id) if c.receiving_institution_id else None
    )
    assert key and patient and requester and author and requesting
    body = pdf.render(
        consultation=c,
        opinion=op,
        key=key,
        patient=patient,
        requester=requester,
        author=author,
        requesting=requesting,
        receiving=receiving,
    )
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="opinion-{c.id}-v{op.version}.pdf"',
            "Cache-Control": "no-store",
        },
    )


# ------------------------------------------------------------ wiring


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the router (the service-level sweep is a task of the job runner, telemed.jobs)."""
    app.include_router(router)
