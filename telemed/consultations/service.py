"""Rules of remote consultations (远程会诊): requests, workflow, opinions, worklists.

Every transition goes through `_transition`, which takes the row lock, applies the
state machine of `states.py` and logs who, when and why. Calls into scheduling and
dicom sit in the small `_scheduling_*` / `_dicom_*` functions at the end.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, func
from sqlmodel import Session, col, or_, select

from dicom import service as dicom_service
from referrals import service as referrals_service
from scheduling import service as scheduling_service
from telemed.consultations import payments, policy, routing, service_levels, signing
from telemed.consultations.models import (
    Consultation,
    ConsultationConsent,
    ConsultationDocument,
    ConsultationTransition,
    Opinion,
    SessionEvent,
)
from telemed.consultations.schemas import (
    AcceptBody,
    ConsentCreate,
    ConsultationCreate,
    ConsultationUpdate,
    ImagingOrderPublic,
    OpinionCorrection,
    OpinionWrite,
    Proposal,
    Reason,
    StudyPublic,
    VerifyResult,
)
from telemed.consultations.service_classes import DOCUMENT_KINDS, Urgency, info
from telemed.consultations.service_levels import accept_minutes, report_minutes
from telemed.consultations.states import machine_for
from telemed.core import audit, idempotency, notifications
from telemed.core.db import get_or_404
from telemed.core.errors import Conflict, Invalid, InvalidTransition, NotFound
from telemed.core.ids import uuid7
from telemed.core.pagination import PageParams, paginate
from telemed.core.settings import Settings
from telemed.identity.models import Patient, Role, Title, User
from telemed.identity.permissions import can_act_for_patient
from telemed.network.models import TIER_RANK, Institution, Tier
from telemed.network.specialties import Specialty

TITLE_RANK = {Title.RESIDENT: 0, Title.ATTENDING: 1, Title.ASSOCIATE_CHIEF: 2, Title.CHIEF: 3}


# ---------------------------------------------------------------- loading and access


def get_consultation(*, session: Session, consultation_id: uuid.UUID) -> Consultation:
    """The request, or 404."""
    c = get_or_404(session, Consultation, consultation_id, "consultation")
    return c


def _locked(session: Session, consultation_id: uuid.UUID) -> Consultation:
    """The request with its row locked for this transaction: concurrent transitions queue."""
    c = session.execute(
        select(Consultation)
        .where(Consultation.id == consultation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if c is None:
        raise NotFound(f"consultation {consultation_id} not found")
    return c


def load_visible(
    *, session: Session, user: User, consultation_id: uuid.UUID, lock: bool = False
) -> Consultation:
    """The request if `user` takes part in it, else 404 (no existence leak)."""
    c = _locked(session, consultation_id) if lock else session.get(Consultation, consultation_id)
    return audit.visible_or_404(
        session,
        user,
        c,
        visible=c is not None and policy.can_read(user, c),
        object_type="consultation",
        ident=consultation_id,
        reason="takes no part in this consultation",
    )


def read(
    *, session: Session, user: User, consultation_id: uuid.UUID, what: str | None = None
) -> Consultation:
    """Load for display and audit the read (`what`: which part is shown, e.g. history)."""
    c = load_visible(session=session, user=user, consultation_id=consultation_id)
    audit.read(
        session,
        user,
        object_type="consultation",
        object_id=c.id,
        patient_ids=[c.patient_id],
        what=what,
    )
    return c


def allowed_actions(user: User, c: Consultation) -> list[str]:
    """Workflow actions this user may take now (for UIs)."""
    rel = policy.relations(user, c)
    possible = set(machine_for(c.live_session).allowed(c.state))
    out = []
    for action in sorted(possible):
        key = {"report": "write_opinion", "close": "acknowledge"}.get(action, action)
        if key in policy.ACTIONS and rel & policy.ACTIONS[key]:
            out.append(action)
    return out


def _audit(
    session: Session,
    user: User | None,
    action: str,
    c: Consultation,
    *,
    now: datetime,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    object_type: str = "consultation",
    object_id: uuid.UUID | None = None,
) -> None:
    audit.record(
        session=session,
        actor_id=user.id if user else None,
        actor_role=user.role if user else "system",
        action=action,
        object_type=object_type,
        object_id=object_id or c.id,
        patient_id=c.patient_id,
        ip=ip,
        detail=detail,
        at=now,
    )


def _transition(
    session: Session,
    c: Consultation,
    action: str,
    *,
    by: User | None,
    now: datetime,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> ConsultationTransition:
    """Apply one workflow action to a locked request and log it; 409 when not allowed."""
    before = c.state
    c.state = machine_for(c.live_session).next(before, action)
    c.updated_at = now
    row = ConsultationTransition(
        consultation_id=c.id,
        action=action,
        from_state=before,
        to_state=c.state,
        by_id=by.id if by else None,
        at=now,
        reason=reason,
        data=data or {},
    )
    session.add(row)
    _audit(session, by, action, c, now=now, detail={"from": before, "to": c.state})
    session.flush()
    return row


def history(*, session: Session, consultation_id: uuid.UUID) -> list[ConsultationTransition]:
    return list(
        session.execute(
            select(ConsultationTransition)
            .where(ConsultationTransition.consultation_id == consultation_id)
            .order_by(col(ConsultationTransition.at), col(ConsultationTransition.id))
        ).scalars()
    )


def _notify(
    session: Session,
    user_ids: set[uuid.UUID],
    c: Consultation,
    kind: str,
    title: str,
    now: datetime,
) -> None:
    for uid in sorted(user_ids, key=str):
        notifications.enqueue(
            session=session,
            user_id=uid,
            kind=f"consultation.{kind}",
            title=title,
            data={"consultation_id": str(c.id), "state": c.state, "urgency": c.urgency},
            now=now,
        )


def coordinators_of(*, session: Session, institution_id: uuid.UUID | None) -> set[uuid.UUID]:
    if institution_id is None:
        return set()
    return set(
        session.execute(
            select(User.id).where(
                User.role == Role.COORDINATOR,
                User.institution_id == institution_id,
                User.is_active.is_(True),  # type: ignore[attr-defined]
            )
        ).scalars()
    )


# ---------------------------------------------------------------- requests


def _check_specialty(code: str) -> None:
    try:
        Specialty(code)
    except ValueError:
        raise Invalid(f"unknown specialty {code!r}", field="wanted_specialty") from None


def _check_targets(
    session: Session, institution_id: uuid.UUID | None, specialist_id: uuid.UUID | None
) -> None:
    inst = None
    if institution_id is not None:
        inst = session.get(Institution, institution_id)
        if inst is None or not inst.in_network:
            raise Invalid("unknown network hospital", field="chosen_institution_id")
    if specialist_id is not None:
        spec = session.get(User, specialist_id)
        if spec is None or spec.role != Role.SPECIALIST or not spec.is_active:
            raise Invalid("unknown specialist", field="chosen_specialist_id")
        if inst is not None and spec.institution_id != inst.id:
            raise Invalid(
                "the chosen specialist does not work at the chosen hospital",
                field="chosen_specialist_id",
            )


def _may_act_for(session: Session, user: User, patient: Patient) -> bool:
    if can_act_for_patient(session, user, patient):
        return True
    return _referrals_is_contracted_doctor(session=session, user=user, patient_id=patient.id)


def create(
    *,
    session: Session,
    by: User,
    data: ConsultationCreate,
    now: datetime,
    ip: str | None = None,
    idempotency_key: str | None = None,
) -> Consultation:
    """A new request in `draft` (consent may come with it); a retried key returns the first."""
    new_id = uuid7()  # known up front: the key is claimed together with its outcome
    if idempotency_key:
        scoped = idempotency.scoped_key(
            scope="consultations.create", user_id=by.id, key=idempotency_key
        )
        previous = idempotency.claim(
            session=session,
            key=scoped,
            payload=data.model_dump(mode="json"),
            now=now,
            status_code=201,
            response={"id": str(new_id)},
        )
        if previous is not None:
            return get_consultation(
                session=session, consultation_id=uuid.UUID(previous.response["id"])
            )
    return _create(session=session, by=by, data=data, now=now, ip=ip, new_id=new_id)


def _create(
    *,
    session: Session,
    by: User,
    data: ConsultationCreate,
    now: datetime,
    ip: str | None,
    new_id: uuid.UUID,
) -> Consultation:
    if by.role not in (Role.COUNTY_DOCTOR, Role.FAMILY_DOCTOR, Role.SPECIALIST):
        raise Invalid("only doctors request remote services", field="role")
    if by.institution_id is None:
        raise Invalid("the requesting doctor has no institution", field="institution")
    found = session.get(Patient, data.patient_id)
    patient = audit.visible_or_404(  # hidden patients do not exist for this doctor
        session,
        by,
        found,
        visible=found is not None and _may_act_for(session, by, found),
        object_type="patient",
        ident=data.patient_id,
        patient_id=data.patient_id,
        reason="may not request care for this patient",
    )
    _check_specialty(data.wanted_specialty)
    _check_targets(session, data.chosen_institution_id, data.chosen_specialist_id)
    if data.imaging_order is not None and data.service_class != "imaging_diagnosis":
        raise Invalid(
            "an imaging order goes with an imaging_diagnosis request", field="imaging_order"
        )
    c = Consultation(
        id=new_id,
        patient_id=patient.id,
        requesting_doctor_id=by.id,
        requesting_institution_id=by.institution_id,
        service_class=data.service_class,
        urgency=data.urgency,
        live_session=info(data.service_class).live_session,
        summary=data.summary,
        question=data.question,
        wanted_specialty=data.wanted_specialty,
        wanted_title=data.wanted_title,
        chosen_institution_id=data.chosen_institution_id,
        chosen_specialist_id=data.chosen_specialist_id,
        override_reason=(data.override_reason or "").strip() or None,
        state="draft",
        created_at=now,
        updated_at=now,
    )
    _check_override(session, c, by, now)  # 422 override_reason_required before any write
    session.add(c)
    session.flush()
    session.add(
        ConsultationTransition(
            consultation_id=c.id,
            action="create",
            from_state="",
            to_state="draft",
            by_id=by.id,
            at=now,
        )
    )
    _audit(session, by, "create", c, now=now, ip=ip)
    if data.consent is not None:
        record_consent(session=session, consultation_id=c.id, by=by, data=data.consent, now=now)
    if data.imaging_order is not None:
        _dicom_publish_order(session=session, consultation=c, by=by, now=now, order=data)
    session.flush()
    return c


def update_draft(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    data: ConsultationUpdate,
    now: datetime,
) -> Consultation:
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "edit")
    if c.state != "draft":
        raise InvalidTransition(entity="consultation", current=c.state, action="edit")
    changes = data.model_dump(exclude_unset=True)
    if "wanted_specialty" in changes:
        _check_specialty(changes["wanted_specialty"])
    _check_targets(
        session,
        changes.get("chosen_institution_id", c.chosen_institution_id),
        changes.get("chosen_specialist_id", c.chosen_specialist_id),
    )
    if "override_reason" in changes:
        changes["override_reason"] = (changes["override_reason"] or "").strip() or None
    for k, v in changes.items():
        setattr(c, k, v)
    _check_override(session, c, by, now)
    c.updated_at = now
    _audit(session, by, "update", c, now=now, detail={"fields": sorted(changes)})
    session.flush()
    return c


def record_consent(
    *, session: Session, consultation_id: uuid.UUID, by: User, data: ConsentCreate, now: datetime
) -> ConsultationConsent:
    """Record the patient's informed consent (before submission)."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    policy.require(by, c, "edit")
    if c.state != "draft":
        raise InvalidTransition(entity="consultation", current=c.state, action="record_consent")
    if data.given_at > now + timedelta(minutes=5):
        raise Invalid("consent cannot be given in the future", field="given_at")
    if data.method == "signed_form":
        doc = session.get(ConsultationDocument, data.document_id) if data.document_id else None
        if doc is None or doc.consultation_id != c.id or doc.kind != "consent_form":
            raise Invalid(
                "a signed form needs the scanned form attached as a consent_form document",
                field="document_id",
            )
    row = ConsultationConsent(
        consultation_id=c.id,
        given_by=data.given_by,
        relationship=data.relationship,
        method=data.method,
        given_at=data.given_at,
        recorded_by_id=by.id,
        recorded_at=now,
        document_id=data.document_id,
        note=data.note,
    )
    session.add(row)
    _audit(session, by, "consent", c, now=now, detail={"method": data.method})
    session.flush()
    return row


def consents(*, session: Session, consultation_id: uuid.UUID) -> list[ConsultationConsent]:
    return list(
        session.execute(
            select(ConsultationConsent).where(
                ConsultationConsent.consultation_id == consultation_id
            )
        ).scalars()
    )


def add_document(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    kind: str,
    filename: str,
    content_type: str,
    content: bytes,
    now: datetime,
    max_bytes: int,
) -> ConsultationDocument:
    """Attach a document (stored with its type and SHA-256)."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    policy.require(by, c, "edit")
    if c.state not in ("draft", "submitted", "accepted", "scheduled", "in_session"):
        raise InvalidTransition(entity="consultation", current=c.state, action="attach")
    if kind not in DOCUMENT_KINDS:
        raise Invalid(f"unknown document kind {kind!r}", field="kind")
    if not content:
        raise Invalid("the document is empty", field="file")
    if len(content) > max_bytes:
        raise Invalid(f"documents are limited to {max_bytes} bytes", field="file")
    doc = ConsultationDocument(
        consultation_id=c.id,
        kind=kind,
        filename=filename[:255] or "document",
        content_type=content_type[:128] or "application/octet-stream",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by_id=by.id,
        uploaded_at=now,
    )
    session.add(doc)
    session.flush()
    _audit(session, by, "attach", c, now=now, object_type="consultation_document", object_id=doc.id)
    return doc


def documents(*, session: Session, consultation_id: uuid.UUID) -> list[ConsultationDocument]:
    return list(
        session.execute(
            select(ConsultationDocument)
            .where(ConsultationDocument.consultation_id == consultation_id)
            .order_by(col(ConsultationDocument.uploaded_at))
        ).scalars()
    )


def read_document(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    document_id: uuid.UUID,
    by: User,
) -> ConsultationDocument:
    """One attached document's content; the read audited."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    doc = session.get(ConsultationDocument, document_id)
    if doc is None or doc.consultation_id != c.id:
        raise NotFound(f"document {document_id} not found")
    audit.read(
        session,
        by,
        object_type="consultation_document",
        object_id=doc.id,
        patient_ids=[c.patient_id],
    )
    return doc


def attach_study(
    *, session: Session, consultation_id: uuid.UUID, by: User, study_uid: str, now: datetime
) -> StudyPublic:
    """Link a DICOM study to the request as `dicom.policy` allows (the requester, while the
    request is open, a study their hospital sent); idempotent."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    link = dicom_service.link_study(
        session=session,
        study_uid=study_uid,
        target_type="consultation",
        target_id=c.id,
        by=by,
        now=now,
    )
    _audit(session, by, "attach", c, now=now, detail={"study_uid": study_uid})
    return _study_public(link)


def detach_study(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    study_uid: str,
    now: datetime,
    ip: str | None,
) -> None:
    """Unlink a study from the request (same rule as attaching); its readers lose it at once."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    dicom_service.unlink_study(
        session=session,
        study_uid=study_uid,
        target_type="consultation",
        target_id=c.id,
        by=by,
        now=now,
        ip=ip,
    )
    _audit(session, by, "detach", c, now=now, ip=ip, detail={"study_uid": study_uid})


def _study_public(link: Any) -> StudyPublic:
    return StudyPublic(
        study_uid=link.study_uid, linked_by_id=link.linked_by_id, linked_at=link.created_at
    )


def studies(*, session: Session, consultation_id: uuid.UUID) -> list[StudyPublic]:
    """The studies linked to the request (the links live in dicom)."""
    links = dicom_service.links_for(
        session=session, target_type="consultation", target_id=consultation_id
    )
    return [_study_public(link) for link in links]


def imaging_orders(*, session: Session, consultation_id: uuid.UUID) -> list[ImagingOrderPublic]:
    """The request's imaging orders, oldest first (the worklist lives in dicom)."""
    orders = dicom_service.orders_of(
        session=session, target_type="consultation", target_id=consultation_id
    )
    return [ImagingOrderPublic.model_validate(o, from_attributes=True) for o in orders]


# ---------------------------------------------------------------- proposal


@lru_cache(maxsize=2)
def _candidates_statement(at_chosen_hospital: bool) -> Any:
    """Specialists who could take a request: every filter in SQL, only the columns a
    proposal shows, with their hospital's service-level history (deadlines measured and
    met over [:sla_start, :sla_end), counted only for hospitals with a specialist of the
    specialty); built once (a hot path), parameters bound per call."""
    of_specialty = select(User.institution_id).where(
        User.role == Role.SPECIALIST, User.specialty_code == bindparam("specialty")
    )
    sla = (
        service_levels.share_met_select()
        .where(col(Consultation.receiving_institution_id).in_(of_specialty))
        .subquery("sla")
    )
    stmt = (
        select(  # type: ignore[call-overload]  # plain columns: no ORM objects per row
            User.id,
            User.full_name,
            User.title,
            User.specialty_code,
            Institution.id,
            Institution.name_zh,
            Institution.tier,
            Institution.league_code,
            Institution.county_code,
            sla.c.measured,
            sla.c.met,
        )
        .join(Institution, Institution.id == User.institution_id)
        .outerjoin(sla, sla.c.receiving_institution_id == Institution.id)
        .where(
            User.role == Role.SPECIALIST,
            User.is_active.is_(True),  # type: ignore[attr-defined]
            User.specialty_code == bindparam("specialty"),
            Institution.in_network.is_(True),  # type: ignore[attr-defined]
            User.id != bindparam("viewer_id"),
            Institution.id != bindparam("requester_id"),
            col(User.title).in_(bindparam("titles", expanding=True)),
        )
    )
    if at_chosen_hospital:
        return stmt.where(Institution.id == bindparam("institution_id"))
    return stmt.where(col(Institution.tier).in_(bindparam("tiers", expanding=True)))


@dataclass(frozen=True)
class _Candidate:
    """The few columns of a specialist a proposal shows."""

    id: uuid.UUID
    full_name: str
    title: str | None
    specialty_code: str | None


@dataclass(frozen=True)
class _Hospital:
    """The few columns of a candidate's hospital the proposal and the routing rule read."""

    id: uuid.UUID
    name_zh: str
    tier: str
    league_code: str
    county_code: str | None


def _check_routing_patient(
    *, session: Session, user: User, patient: Patient | None, now: datetime
) -> None:
    """A patient a preview may route from: one the doctor may act for (404 otherwise,
    audited as refused); the read of their residence is audited."""
    allowed = patient is not None and _may_act_for(session, user, patient)
    if patient is not None:
        audit.record(
            session=session,
            actor_id=user.id,
            actor_role=user.role,
            action="read" if allowed else "refused",
            object_type="patient",
            object_id=patient.id,
            patient_id=patient.id,
            detail={"purpose": "routing_preview"},
            at=now,
        )
    if patient is None or not allowed:
        raise NotFound("patient not found", code="patient_not_found")


def propose(
    *,
    session: Session,
    viewer: User,
    requesting_institution_id: uuid.UUID,
    service_class: str,
    specialty: str,
    title: str | None,
    now: datetime,
    institution_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    urgency: str = "routine",
    limit: int = 10,
    check_patient: bool = False,
) -> list[Proposal]:
    """Specialists who could take the request, best first, each with the reason.

    Only specialists of the wanted specialty, at or above the wanted title, at network
    hospitals of a higher tier than the requester (or the chosen hospital); ordered by the
    routing rule seen from the patient (`routing.rank`, docs/routing.md). With
    `check_patient` (a preview for a patient the caller names), the viewer must be able to
    act for the patient (404 otherwise, audited as refused) and the read is audited.
    """
    found = routing.origin(
        session=session, requester_id=requesting_institution_id, patient_id=patient_id
    )  # the requester, the patient and the patient's place: one statement
    if check_patient and patient_id is not None:
        _check_routing_patient(
            session=session, user=viewer, patient=found.patient if found else None, now=now
        )
    _check_specialty(specialty)
    if found is None:
        raise NotFound("requesting institution not found")
    requester, where = found.requester, found.where
    my_rank = TIER_RANK[Tier(requester.tier)]
    wanted = TITLE_RANK.get(Title(title), 0) if title else 0
    params: dict[str, Any] = {
        "specialty": specialty,
        "viewer_id": viewer.id,
        "requester_id": requesting_institution_id,
        "titles": [t.value for t, n in TITLE_RANK.items() if n >= wanted],
    }
    if institution_id is not None:
        params["institution_id"] = institution_id
    else:
        params["tiers"] = [t.value for t, n in TIER_RANK.items() if n > my_rank]
    params["sla_start"], params["sla_end"] = now - timedelta(days=routing.HISTORY_DAYS), now
    hospitals: dict[uuid.UUID, _Hospital] = {}
    history: dict[uuid.UUID, float | None] = {}
    candidates = []
    for uid, name, ttl, spec, iid, *cols, measured, met in session.execute(
        _candidates_statement(institution_id is not None), params
    ).all():
        if iid not in hospitals:
            hospitals[iid] = _Hospital(iid, *cols)
            history[iid] = service_levels.share_met(measured, met)
        candidates.append((_Candidate(uid, name, ttl, spec), hospitals[iid]))
    slot_class = info(service_class).slot_service_class
    slots: dict[int, tuple[uuid.UUID, datetime]] = {}

    def earliest_of(indexes: Sequence[int]) -> dict[int, datetime]:
        """Earliest free slots of these candidates: one statement (scheduling)."""
        found = scheduling_service.earliest_slots(
            session=session,
            viewer=viewer,
            now=now,
            specialist_ids=[candidates[i][0].id for i in indexes],
            service_class=slot_class,
        )
        for i in indexes:
            if candidates[i][0].id in found:
                slots[i] = found[candidates[i][0].id]
        return {i: slots[i][1] for i in indexes if i in slots}

    ranked = routing.rank(
        session=session,
        where=where,
        requester_id=requester.id,
        specialty=specialty,
        urgency=urgency,
        now=now,
        candidates=[(inst, user.full_name) for user, inst in candidates],
        earliest=earliest_of,
        history=history,
        limit=limit,
    )
    proposals = []
    for r in ranked[:limit]:
        user, inst = candidates[r.index]
        proposals.append(
            Proposal(
                specialist_id=user.id,
                specialist_name=user.full_name,
                title=user.title,
                specialty_code=user.specialty_code,
                institution_id=inst.id,
                institution_name=inst.name_zh,
                tier=inst.tier,
                same_alliance=r.placement.tier.code in routing.IN_ALLIANCE_TIERS,
                earliest_slot_id=slots[r.index][0] if r.index in slots else None,
                earliest_slot_at=r.slot_at,
                routing_tier=r.placement.tier.code,
                routing_rank=r.placement.tier.rank,
                distance_km=r.placement.distance_km,
                sla_share=r.sla_share,
                reason=Reason(code=r.reason_code, params=r.reason_params),
            )
        )
    return proposals


# ---------------------------------------------------------------- routing override


def _chosen_institution(session: Session, c: Consultation) -> uuid.UUID | None:
    if c.chosen_institution_id is not None:
        return c.chosen_institution_id
    if c.chosen_specialist_id is not None:
        spec = session.get(User, c.chosen_specialist_id)
        return spec.institution_id if spec else None
    return None


def _check_override(session: Session, c: Consultation, by: User, now: datetime) -> None:
    """A hospital chosen outside the proposal order needs the requester's reason (422
    `override_reason_required`); the first proposed hospital is kept beside it. A choice
    that is the first proposal (or no choice) is no override: its reason is dropped."""
    chosen = _chosen_institution(session, c)
    first = None
    if chosen is not None:
        found = propose(
            session=session,
            viewer=by,
            requesting_institution_id=c.requesting_institution_id,
            patient_id=c.patient_id,
            urgency=c.urgency,
            service_class=c.service_class,
            specialty=c.wanted_specialty,
            title=c.wanted_title,
            now=now,
            limit=1,
        )
        first = found[0].institution_id if found else None
    if first is None or first == chosen:
        c.first_proposed_institution_id = None
        c.override_reason = None
        return
    if not c.override_reason:
        raise Invalid(
            "the chosen hospital is not the first one proposed: give the reason",
            field="override_reason",
            code="override_reason_required",
            first_proposed_institution_id=str(first),
        )
    c.first_proposed_institution_id = first


def _override_record(c: Consultation) -> dict[str, Any]:
    """The override as written to the submit transition and the audit trail ({} if none)."""
    if c.first_proposed_institution_id is None:
        return {}
    return {
        "override": {
            "first_proposed_institution_id": str(c.first_proposed_institution_id),
            "chosen_institution_id": str(c.chosen_institution_id)
            if c.chosen_institution_id
            else None,
            "chosen_specialist_id": str(c.chosen_specialist_id) if c.chosen_specialist_id else None,
            "reason": c.override_reason,
        }
    }


# ---------------------------------------------------------------- workflow


def _route(
    session: Session,
    c: Consultation,
    by: User,
    now: datetime,
    institution_id: uuid.UUID | None,
    specialist_id: uuid.UUID | None,
) -> None:
    """Decide where the request goes: a chosen specialist, a chosen hospital, or a proposal."""
    if specialist_id is not None:
        spec = session.get(User, specialist_id)
        assert spec is not None
        c.receiving_institution_id = spec.institution_id
        c.proposed_specialist_id = spec.id
        return
    found = propose(
        session=session,
        viewer=by,
        requesting_institution_id=c.requesting_institution_id,
        patient_id=c.patient_id,
        urgency=c.urgency,
        service_class=c.service_class,
        specialty=c.wanted_specialty,
        title=c.wanted_title,
        now=now,
        institution_id=institution_id,
        limit=1,
    )
    if found:
        c.receiving_institution_id = found[0].institution_id
        c.proposed_specialist_id = found[0].specialist_id
    elif institution_id is not None:
        # the chosen hospital's coordinator assigns someone
        c.receiving_institution_id = institution_id
        c.proposed_specialist_id = None
    else:
        raise Conflict(
            f"no specialist of {c.wanted_specialty} is available in the network for this request",
            code="no_specialist",
        )


def _set_accept_due(c: Consultation, now: datetime, settings: Settings) -> None:
    minutes = accept_minutes(settings.consultations, c.urgency)
    c.accept_due_at = now + timedelta(minutes=minutes)
    c.expires_at = now + timedelta(minutes=minutes * settings.consultations.expire_factor)


def _announce_incoming(session: Session, c: Consultation, now: datetime) -> None:
    who = coordinators_of(session=session, institution_id=c.receiving_institution_id)
    if c.proposed_specialist_id:
        who.add(c.proposed_specialist_id)
    label = {"emergency": "急", "urgent": "加急", "routine": "常规"}[c.urgency]
    _notify(session, who, c, "incoming", f"[{label}] 新的{info(c.service_class).name_zh}申请", now)


def submit(
    *, session: Session, consultation_id: uuid.UUID, by: User, now: datetime, settings: Settings
) -> Consultation:
    """Send the request: needs consent; routes it, starts the service-level clock, sets the fee."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "submit")
    machine_for(c.live_session).next(c.state, "submit")  # 409 before any other check
    if not consents(session=session, consultation_id=c.id):
        raise Conflict(
            "the patient's informed consent must be recorded before submission",
            code="consent_required",
        )
    _check_override(session, c, by, now)  # the proposal may have moved since the draft
    _route(session, c, by, now, c.chosen_institution_id, c.chosen_specialist_id)
    receiving = session.get(Institution, c.receiving_institution_id)
    assert receiving is not None
    fee = payments.fee_for(session=session, service_class=c.service_class, tier=receiving.tier)
    c.fee_cents = fee.amount_cents if fee else 0
    c.currency = fee.currency if fee else "CNY"
    c.payment_state = "unpaid" if c.fee_cents > 0 else "waived"
    c.submitted_at = now
    _set_accept_due(c, now, settings)
    _transition(
        session,
        c,
        "submit",
        by=by,
        now=now,
        data={
            "receiving_institution_id": str(c.receiving_institution_id),
            "proposed_specialist_id": str(c.proposed_specialist_id)
            if c.proposed_specialist_id
            else None,
            **_override_record(c),
        },
    )
    if c.first_proposed_institution_id is not None:
        _audit(session, by, "routing_override", c, now=now, detail=_override_record(c))
    _announce_incoming(session, c, now)
    return c


def accept(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    data: AcceptBody,
    now: datetime,
    settings: Settings,
) -> Consultation:
    """Take the request: assign a specialist; live sessions get booked (emergencies: at once)."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    # state first: whoever loses a race to accept learns it was accepted (409), not 403
    machine_for(c.live_session).next(c.state, "accept")
    rel = policy.require(by, c, "accept")
    specialist_id: uuid.UUID | None
    if "candidate" in rel and by.role == Role.SPECIALIST:
        specialist_id = by.id
    else:
        specialist_id = data.specialist_id or c.proposed_specialist_id or c.chosen_specialist_id
        if specialist_id is None:
            raise Invalid("name the specialist who takes the request", field="specialist_id")
    spec = session.get(User, specialist_id)
    if (
        spec is None
        or spec.role != Role.SPECIALIST
        or spec.institution_id != c.receiving_institution_id
        or not spec.is_active
    ):
        raise Invalid(
            "the assigned specialist must work at the receiving hospital", field="specialist_id"
        )
    c.assigned_specialist_id = spec.id
    c.accepted_at = now
    c.report_due_at = now + timedelta(
        minutes=report_minutes(settings.consultations, c.service_class, c.urgency)
    )
    _transition(
        session,
        c,
        "accept",
        by=by,
        now=now,
        reason=data.note,
        data={"assigned_specialist_id": str(spec.id)},
    )
    _notify(
        session, {c.requesting_doctor_id, spec.id} - {by.id}, c, "accepted", "会诊申请已接收", now
    )
    if c.live_session:
        if c.urgency == Urgency.EMERGENCY and data.slot_id is None:
            _immediate_session(session, c, by, now, settings)
        else:
            slot_id = data.slot_id
            if slot_id is None:
                slot_id, _ = _scheduling_earliest_slot(
                    session=session,
                    viewer=by,
                    specialist_id=spec.id,
                    service_class=info(c.service_class).slot_service_class,
                    now=now,
                )
            if slot_id is not None:
                _book(session, c, by, slot_id, now)
    return c


def _immediate_session(
    session: Session, c: Consultation, by: User, now: datetime, settings: Settings
) -> None:
    c.session_start_at = now
    c.session_end_at = now + timedelta(minutes=settings.consultations.emergency_session_minutes)
    _transition(session, c, "schedule", by=by, now=now, data={"immediate": True})
    _notify(
        session,
        {c.requesting_doctor_id, c.assigned_specialist_id} - {by.id, None},  # type: ignore[arg-type]
        c,
        "session_now",
        "急诊会诊：请立即进入会诊室",
        now,
    )


def _book(session: Session, c: Consultation, by: User, slot_id: uuid.UUID, now: datetime) -> None:
    booking_id, start, end = _scheduling_book(
        session=session, consultation=c, slot_id=slot_id, by=by, now=now
    )
    c.booking_id = booking_id
    c.session_start_at = start
    c.session_end_at = end
    _transition(
        session,
        c,
        "schedule",
        by=by,
        now=now,
        data={"booking_id": str(booking_id), "slot_id": str(slot_id)},
    )
    _notify(
        session,
        {c.requesting_doctor_id, c.assigned_specialist_id} - {by.id, None},  # type: ignore[arg-type]
        c,
        "scheduled",
        "会诊时间已确定",
        now,
    )


def schedule(
    *, session: Session, consultation_id: uuid.UUID, by: User, slot_id: uuid.UUID, now: datetime
) -> Consultation:
    """Book the live session of an accepted request in a slot."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "schedule")
    machine_for(c.live_session).next(c.state, "schedule")
    _book(session, c, by, slot_id, now)
    return c


def decline(
    *, session: Session, consultation_id: uuid.UUID, by: User, reason: str, now: datetime
) -> Consultation:
    """Refuse the request (reason required); a paid fee is refunded."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "decline")
    if not reason.strip():
        raise Invalid("a reason is required", field="reason")
    _transition(session, c, "decline", by=by, now=now, reason=reason)
    payments.refund_if_paid(session=session, c=c, by_id=by.id, now=now)
    _dicom_cancel_orders(session, c, now)
    _notify(session, {c.requesting_doctor_id}, c, "declined", "会诊申请被拒绝", now)
    return c


def redirect(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    reason: str,
    institution_id: uuid.UUID | None,
    specialist_id: uuid.UUID | None,
    now: datetime,
    settings: Settings,
) -> Consultation:
    """Send the request on to another hospital or specialist; it is submitted there afresh."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "redirect")
    if institution_id is None and specialist_id is None:
        raise Invalid("name the hospital or specialist to redirect to", field="institution_id")
    _check_targets(session, institution_id, specialist_id)
    before = c.receiving_institution_id
    _transition(
        session,
        c,
        "redirect",
        by=by,
        now=now,
        reason=reason,
        data={"from_institution_id": str(before)},
    )
    _route(session, c, by, now, institution_id, specialist_id)
    if c.receiving_institution_id == before and specialist_id is None:
        raise Invalid(
            "redirect to a different hospital or name a specialist", field="institution_id"
        )
    _set_accept_due(c, now, settings)
    _transition(
        session,
        c,
        "resubmit",
        by=by,
        now=now,
        reason=reason,
        data={"receiving_institution_id": str(c.receiving_institution_id)},
    )
    _notify(session, {c.requesting_doctor_id}, c, "redirected", "会诊申请已转至其他医院/专家", now)
    _announce_incoming(session, c, now)
    return c


def cancel(
    *, session: Session, consultation_id: uuid.UUID, by: User, reason: str, now: datetime
) -> Consultation:
    """Withdraw the request; frees the booked slot and refunds a paid fee."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "cancel")
    _transition(session, c, "cancel", by=by, now=now, reason=reason)
    if c.booking_id is not None:
        _scheduling_cancel(session=session, booking_id=c.booking_id, by=by, now=now, reason=reason)
    payments.refund_if_paid(session=session, c=c, by_id=by.id, now=now)
    _dicom_cancel_orders(session, c, now)
    others = {c.assigned_specialist_id, c.proposed_specialist_id} - {None}
    others |= coordinators_of(session=session, institution_id=c.receiving_institution_id)
    _notify(session, others, c, "cancelled", "会诊申请已撤销", now)  # type: ignore[arg-type]
    return c


def start_session(
    *, session: Session, consultation_id: uuid.UUID, by: User, now: datetime
) -> Consultation:
    """The live session begins."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "start_session")
    _transition(session, c, "start_session", by=by, now=now)
    return c


def acknowledge(
    *, session: Session, consultation_id: uuid.UUID, by: User, now: datetime
) -> Consultation:
    """The requesting doctor confirms receipt of the signed opinion; the request closes."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "acknowledge")
    _transition(session, c, "close", by=by, now=now, reason="opinion received")
    c.closed_at = now
    if c.assigned_specialist_id:
        _notify(session, {c.assigned_specialist_id}, c, "acknowledged", "会诊意见已被确认接收", now)
    return c


def pay(*, session: Session, consultation_id: uuid.UUID, by: User, now: datetime) -> Consultation:
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "pay")
    if c.state in ("draft", "declined", "cancelled", "expired"):
        raise InvalidTransition(entity="consultation", current=c.state, action="pay")
    payments.charge(session=session, c=c, by_id=by.id, now=now)
    _audit(session, by, "pay", c, now=now)
    return c


# ---------------------------------------------------------------- opinion


def _opinions(session: Session, consultation_id: uuid.UUID) -> list[Opinion]:
    return list(
        session.execute(
            select(Opinion)
            .where(Opinion.consultation_id == consultation_id)
            .order_by(col(Opinion.version))
        ).scalars()
    )


def save_draft(
    *, session: Session, consultation_id: uuid.UUID, by: User, data: OpinionWrite, now: datetime
) -> Opinion:
    """Write or rewrite the unsigned opinion of the assigned specialist."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "write_opinion")
    if c.state not in ("accepted", "scheduled", "in_session"):
        raise InvalidTransition(entity="consultation", current=c.state, action="write_opinion")
    versions = _opinions(session, c.id)
    draft = versions[-1] if versions and versions[-1].signed_at is None else None
    if draft is None:
        draft = Opinion(
            consultation_id=c.id,
            version=len(versions) + 1,
            author_id=by.id,
            findings="",
            impression="",
            created_at=now,
            updated_at=now,
        )
        session.add(draft)
    _fill(draft, data)
    draft.updated_at = now
    session.flush()
    _audit(session, by, "write_opinion", c, now=now, detail={"version": draft.version})
    return draft


def _fill(op: Opinion, data: OpinionWrite) -> None:
    op.findings = data.findings
    op.impression = data.impression
    op.icd10 = list(data.icd10)
    op.recommendations = data.recommendations
    op.referral_advice = data.referral_advice.model_dump(mode="json")


def _seal(
    session: Session, c: Consultation, op: Opinion, by: User, now: datetime, settings: Settings
) -> None:
    key = signing.ensure_key(
        session=session, user_id=by.id, secret=settings.security.secret_key, now=now
    )
    signed_at = now.replace(microsecond=0)
    op.key_id = key.id
    canonical = signing.canonical_json(
        signing.signed_content(op, patient_id=c.patient_id, signed_at=signed_at)
    )
    op.canonical = canonical
    op.signature = signing.sign(key, canonical, secret=settings.security.secret_key)
    op.signed_at = signed_at
    op.updated_at = now
    session.flush()


def sign(
    *, session: Session, consultation_id: uuid.UUID, by: User, now: datetime, settings: Settings
) -> Opinion:
    """Sign the draft: it freezes, and the request becomes `reported`."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "write_opinion")
    machine_for(c.live_session).next(c.state, "report")
    versions = _opinions(session, c.id)
    if not versions or versions[-1].signed_at is not None:
        raise Conflict("there is no draft opinion to sign", code="no_draft")
    op = versions[-1]
    if op.author_id != by.id:
        raise Conflict("only the author signs an opinion", code="not_author")
    _seal(session, c, op, by, now, settings)
    c.reported_at = now
    _transition(session, c, "report", by=by, now=now, data={"opinion_version": op.version})
    _notify(session, {c.requesting_doctor_id}, c, "reported", "会诊意见已签发", now)
    return op


def correct(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    data: OpinionCorrection,
    now: datetime,
    settings: Settings,
) -> Opinion:
    """A correction: a new signed version that supersedes the last; nothing signed changes."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id, lock=True)
    policy.require(by, c, "write_opinion")
    if c.state not in ("reported", "closed"):
        raise InvalidTransition(entity="consultation", current=c.state, action="amend")
    versions = _opinions(session, c.id)
    last = versions[-1]
    op = Opinion(
        consultation_id=c.id,
        version=last.version + 1,
        author_id=by.id,
        findings="",
        impression="",
        supersedes_id=last.id,
        correction_reason=data.reason,
        created_at=now,
        updated_at=now,
    )
    _fill(op, data)
    session.add(op)
    session.flush()
    _seal(session, c, op, by, now, settings)
    session.add(
        ConsultationTransition(
            consultation_id=c.id,
            action="amend",
            from_state=c.state,
            to_state=c.state,
            by_id=by.id,
            at=now,
            reason=data.reason,
            data={"opinion_version": op.version},
        )
    )
    _audit(session, by, "amend", c, now=now, detail={"version": op.version})
    _notify(session, {c.requesting_doctor_id}, c, "amended", "会诊意见已更正（新版本）", now)
    session.flush()
    return op


def opinion_for(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    version: int | None = None,
) -> Opinion:
    """The latest signed opinion (or a given version); its author also sees the draft."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    rel = policy.relations(by, c)
    versions = _opinions(session, c.id)
    if not (rel & policy.ACTIONS["read_draft_opinion"]):
        versions = [v for v in versions if v.signed_at is not None]
    if version is not None:
        versions = [v for v in versions if v.version == version]
    if not versions:
        raise NotFound("no opinion yet")
    audit.read(
        session,
        by,
        object_type="consultation_opinion",
        object_id=versions[-1].id,
        patient_ids=[c.patient_id],
    )
    return versions[-1]


def opinion_versions(*, session: Session, consultation_id: uuid.UUID, by: User) -> list[Opinion]:
    """Every signed version (full text); the read audited as one list row."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    signed = [v for v in _opinions(session, c.id) if v.signed_at is not None]
    audit.read(
        session,
        by,
        object_type="consultation_opinion",
        patient_ids=[c.patient_id],
        object_ids=[v.id for v in signed],
    )
    return signed


def verify(
    *, session: Session, consultation_id: uuid.UUID, by: User, version: int | None = None
) -> VerifyResult:
    """Check a signed opinion against its published key, recomputing the canonical form."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    signed = [v for v in _opinions(session, c.id) if v.signed_at is not None]
    if version is not None:
        signed = [v for v in signed if v.version == version]
    if not signed:
        raise NotFound("no signed opinion")
    op = signed[-1]
    key = session.get(signing.SpecialistKey, op.key_id) if op.key_id else None

    def result(valid: bool, reason: str) -> VerifyResult:
        return VerifyResult(
            consultation_id=c.id,
            version=op.version,
            valid=valid,
            algorithm=signing.ALGORITHM,
            key_id=op.key_id,
            signer_id=op.author_id,
            fingerprint=key.fingerprint if key else None,
            signed_at=op.signed_at,
            reason=reason,
        )

    if key is None or op.signature is None or op.signed_at is None:
        return result(False, "signing key not found")
    if key.user_id != op.author_id:
        return result(False, "the key does not belong to the author")
    canonical = signing.canonical_json(
        signing.signed_content(op, patient_id=c.patient_id, signed_at=op.signed_at)
    )
    if canonical != op.canonical:
        return result(False, "the stored opinion differs from what was signed")
    if not signing.verify(key.public_key, canonical, op.signature):
        return result(False, "signature does not match")
    return result(True, "signature valid")


def keys_of(*, session: Session, user_id: uuid.UUID) -> list[signing.SpecialistKey]:
    return list(
        session.execute(
            select(signing.SpecialistKey)
            .where(signing.SpecialistKey.user_id == user_id)
            .order_by(col(signing.SpecialistKey.created_at))
        ).scalars()
    )


# ---------------------------------------------------------------- worklists


def worklist(
    *,
    session: Session,
    user: User,
    role: str,
    state: str | None,
    limit: int,
    offset: int,
    where: Sequence[Any] = (),
) -> tuple[list[Consultation], int]:
    """Each role's list: requests I made; assigned to me; my hospital's incoming queue
    (`where`: further conditions on Consultation, e.g. a FHIR search's, that only narrow)."""
    stmt = worklist_query(user=user, role=role, state=state, where=where)
    rows, total = paginate(session, stmt, PageParams(limit=limit, offset=offset))
    audit.read(
        session,
        user,
        object_type="consultation",
        patient_ids=[c.patient_id for c in rows],
        object_ids=[c.id for c in rows],
    )
    return rows, total


def worklist_query(*, user: User, role: str, state: str | None, where: Sequence[Any] = ()) -> Any:
    """The statement of `worklist` (ordered): the consultations of this role's list."""
    stmt = select(Consultation).where(*where)
    urgency_order = (
        (col(Consultation.urgency) == "emergency", 0),
        (col(Consultation.urgency) == "urgent", 1),
    )
    urgency_rank = case(*urgency_order, else_=2)
    if role == "requester":
        stmt = stmt.where(Consultation.requesting_doctor_id == user.id).order_by(
            col(Consultation.created_at).desc()
        )
    elif role == "specialist":
        if user.role != Role.SPECIALIST:
            raise Invalid("the specialist worklist is for specialists", field="role")
        stmt = stmt.where(
            or_(
                Consultation.assigned_specialist_id == user.id,
                (Consultation.state == "submitted")
                & (Consultation.receiving_institution_id == user.institution_id)
                & Consultation.assigned_specialist_id.is_(None)  # type: ignore[union-attr]
                & or_(
                    Consultation.proposed_specialist_id == user.id,
                    Consultation.chosen_specialist_id == user.id,
                    Consultation.wanted_specialty == user.specialty_code,
                ),
            )
        ).order_by(
            urgency_rank,
            func.coalesce(Consultation.report_due_at, Consultation.accept_due_at),
            col(Consultation.created_at),
        )
    elif role == "coordinator":
        if user.role != Role.COORDINATOR or user.institution_id is None:
            raise Invalid("the coordinator worklist is for coordinators", field="role")
        stmt = stmt.where(
            Consultation.receiving_institution_id == user.institution_id,
            Consultation.state != "draft",
        ).order_by(urgency_rank, col(Consultation.accept_due_at), col(Consultation.created_at))
    elif role == "patient":
        stmt = stmt.where(
            Consultation.patient_id == user.patient_id, Consultation.state != "draft"
        ).order_by(col(Consultation.created_at).desc())
    else:
        raise Invalid("role must be requester, specialist, coordinator or patient", field="role")
    if state:
        stmt = stmt.where(Consultation.state == state)
    return stmt


def default_role(user: User) -> str:
    return {
        Role.SPECIALIST: "specialist",
        Role.COORDINATOR: "coordinator",
        Role.PATIENT: "patient",
    }.get(Role(user.role), "requester")


# ---------------------------------------------------------------- for other domains (video)


def participants(*, session: Session, consultation_id: uuid.UUID) -> set[uuid.UUID]:
    """Users taking part: requester, assigned specialist, receiving coordinators, patient user."""
    c = get_consultation(session=session, consultation_id=consultation_id)
    who = {c.requesting_doctor_id}
    if c.assigned_specialist_id:
        who.add(c.assigned_specialist_id)
    who |= coordinators_of(session=session, institution_id=c.receiving_institution_id)
    patient_user = session.execute(
        select(User.id).where(User.patient_id == c.patient_id)
    ).scalar_one_or_none()
    if patient_user is not None and c.live_session and c.service_class in ("outpatient",):
        who.add(patient_user)  # invited to remote outpatient visits only
    return who


def session_window(
    *, session: Session, consultation_id: uuid.UUID
) -> tuple[datetime, datetime] | None:
    """Scheduled start and end of the live session."""
    c = get_consultation(session=session, consultation_id=consultation_id)
    if c.session_start_at is None or c.session_end_at is None:
        return None
    return c.session_start_at, c.session_end_at


def mark_in_session(
    *, session: Session, consultation_id: uuid.UUID, by: User, now: datetime
) -> None:
    """Video: the session began (idempotent once in session)."""
    c = _locked(session, consultation_id)
    if c.state == "in_session":
        return
    _transition(session, c, "start_session", by=by, now=now)


def record_session_event(
    *, session: Session, consultation_id: uuid.UUID, kind: str, data: dict[str, Any], now: datetime
) -> None:
    """Video: join/leave/consent/recording/chat summary become part of the record."""
    get_consultation(session=session, consultation_id=consultation_id)
    session.add(SessionEvent(consultation_id=consultation_id, kind=kind[:32], data=data, at=now))
    session.flush()


def session_events(*, session: Session, consultation_id: uuid.UUID) -> list[SessionEvent]:
    return list(
        session.execute(
            select(SessionEvent)
            .where(SessionEvent.consultation_id == consultation_id)
            .order_by(col(SessionEvent.at))
        ).scalars()
    )


# ---------------------------------------------------------------- other domains, in one place


def _scheduling_earliest_slot(
    *, session: Session, viewer: User, specialist_id: uuid.UUID, service_class: str, now: datetime
) -> tuple[uuid.UUID | None, datetime | None]:
    """The specialist's earliest free slot of that class (scheduling), or (None, None)."""
    slots = scheduling_service.search_slots(
        session=session,
        viewer=viewer,
        now=now,
        specialist_id=specialist_id,
        service_class=service_class,
        start_from=now,
        limit=1,
    )
    if not slots:
        return None, None
    return slots[0].id, slots[0].start_at


def _scheduling_book(
    *, session: Session, consultation: Consultation, slot_id: uuid.UUID, by: User, now: datetime
) -> tuple[uuid.UUID, datetime, datetime]:
    """Book the live session in a slot, referenced to the request (409 slot_full ...)."""
    booking = scheduling_service.book(
        session=session,
        slot_id=slot_id,
        by=by,
        patient_id=consultation.patient_id,
        now=now,
        idempotency_key=f"consultation:{consultation.id}:{slot_id}",
        reference_type="consultation",
        reference_id=consultation.id,
    )
    return booking.id, booking.start_at, booking.end_at


def _scheduling_cancel(
    *, session: Session, booking_id: uuid.UUID, by: User, now: datetime, reason: str
) -> None:
    """Free the session's slot. The request's policy authorized the cancel; scheduling lets
    the booker (the accepting specialist or coordinator) cancel, so it acts as them."""
    booking = scheduling_service.get_booking(session=session, booking_id=booking_id)
    if booking.status in ("cancelled", "fulfilled", "noshow"):
        return
    booker = session.get(User, booking.booked_by_id) or by
    scheduling_service.cancel_booking(
        session=session,
        booking_id=booking_id,
        by=booker,
        now=now,
        reason=f"consultation cancelled by {by.full_name}: {reason}"[:200],
    )


def _dicom_cancel_orders(session: Session, c: Consultation, now: datetime) -> None:
    """A request that ended unread (cancelled, declined, expired) leaves the worklist."""
    dicom_service.cancel_orders(
        session=session, target_type="consultation", target_id=c.id, now=now
    )


def _dicom_publish_order(
    *, session: Session, consultation: Consultation, by: User, now: datetime, order: Any
) -> None:
    """Publish the expected study on the requesting hospital's modality worklist."""
    o = order.imaging_order
    dicom_service.publish_order(
        session=session,
        target_type="consultation",
        target_id=consultation.id,
        patient_id=consultation.patient_id,
        institution_id=consultation.requesting_institution_id,
        by=by,
        modality=o.modality,
        scheduled_at=o.scheduled_at or now,
        procedure=o.procedure,
        now=now,
    )


ATTACHABLE_STATES = ("draft", "submitted", "accepted", "scheduled", "in_session")


def attach_matched_study(
    session: Session,
    consultation_id: uuid.UUID,
    study_uid: str,
    by_id: uuid.UUID,
    patient_id: uuid.UUID,
    institution_id: uuid.UUID,
    now: datetime,
) -> None:
    """Check that a study matched by its order (or assigned on reconciliation) may join the request.

    Only a request of that hospital for that patient, in a state that takes attachments;
    anything else is "not found" for the sending hospital.
    """
    c = session.get(Consultation, consultation_id)
    if c is None or c.requesting_institution_id != institution_id or c.patient_id != patient_id:
        raise NotFound(f"consultation {consultation_id} not found for this patient")
    if c.state not in ATTACHABLE_STATES:
        raise InvalidTransition(entity="consultation", current=c.state, action="attach")
    # The study link dicom writes next is the only record of the attachment.


def _referrals_is_contracted_doctor(*, session: Session, user: User, patient_id: uuid.UUID) -> bool:
    """A family doctor may request for their contracted residents (referrals decides)."""
    return bool(
        referrals_service.is_contracted_doctor(session=session, user=user, patient_id=patient_id)
    )
