"""Rules of remote consultations (远程会诊): loading, visibility, worklists, and the façade.

Other domains and the API call this module; the rules live beside it:

    steps.py        the prologue of every step (visible, locked, authorized, possible) and
                    the transition that applies the machine of `states.py`, logged, audited
    drafts.py       create (idempotent) and edit a request before it is sent
    proposals.py    where a request may go: the proposal, chosen targets, overrides
    workflow.py     submit ... acknowledge, routing, booking the live session, paying
    opinions.py     draft, sign, correct, verify the specialist's opinion
    annotations.py  marks on whole-slide images, kept on the draft opinion
    attachments.py  consent, documents, DICOM studies and imaging orders
    messages.py     notification texts by message code
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, or_, select

from telemed.consultations import policy
from telemed.consultations.annotations import annotations_of, save_annotations
from telemed.consultations.attachments import (
    add_document,
    attach_study,
    attachment_counts,
    consent_signature,
    consents,
    detach_study,
    documents,
    imaging_orders,
    read_document,
    record_consent,
    studies,
)
from telemed.consultations.drafts import create, update_draft
from telemed.consultations.messages import coordinators_of
from telemed.consultations.models import Consultation, ConsultationTransition, SessionEvent
from telemed.consultations.opinions import (
    correct,
    draft_for,
    keys_of,
    opinion_for,
    opinion_versions,
    register_on_signed,
    save_draft,
    sign,
    verify,
)
from telemed.consultations.proposals import TITLE_RANK, proposals_for, propose
from telemed.consultations.states import machine_for
from telemed.consultations.steps import get_consultation, load_visible, locked, transition
from telemed.consultations.workflow import (
    accept,
    acknowledge,
    cancel,
    decline,
    pay,
    redirect,
    schedule,
    start_session,
    submit,
)
from telemed.core import audit
from telemed.core.errors import Invalid, InvalidTransition, NotFound
from telemed.core.pagination import PageParams, paginate
from telemed.identity.models import Role, User

__all__ = [
    "register_on_signed",
    "TITLE_RANK",
    "accept",
    "acknowledge",
    "add_document",
    "allowed_actions",
    "annotations_of",
    "attach_matched_study",
    "attachment_counts",
    "attach_study",
    "cancel",
    "consent_signature",
    "consents",
    "coordinators_of",
    "correct",
    "create",
    "decline",
    "default_role",
    "detach_study",
    "documents",
    "get_consultation",
    "history",
    "imaging_orders",
    "keys_of",
    "load_visible",
    "mark_in_session",
    "draft_for",
    "opinion_for",
    "opinion_versions",
    "participants",
    "pay",
    "propose",
    "proposals_for",
    "read",
    "read_document",
    "record_consent",
    "record_session_event",
    "redirect",
    "save_annotations",
    "save_draft",
    "schedule",
    "session_events",
    "session_window",
    "sign",
    "start_session",
    "studies",
    "submit",
    "update_draft",
    "verify",
    "worklist",
    "worklist_query",
]


# ---------------------------------------------------------------- loading and access


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


def history(*, session: Session, consultation_id: uuid.UUID) -> list[ConsultationTransition]:
    """The request's transitions, oldest first."""
    return list(
        session.execute(
            select(ConsultationTransition)
            .where(ConsultationTransition.consultation_id == consultation_id)
            .order_by(col(ConsultationTransition.at), col(ConsultationTransition.id))
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
    """The worklist a user sees unless they ask for another."""
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
    c = locked(session, consultation_id)
    if c.state == "in_session":
        return
    transition(session, c, "start_session", by=by, now=now)


def record_session_event(
    *, session: Session, consultation_id: uuid.UUID, kind: str, data: dict[str, Any], now: datetime
) -> None:
    """Video: join/leave/consent/recording/chat summary become part of the record."""
    get_consultation(session=session, consultation_id=consultation_id)
    session.add(SessionEvent(consultation_id=consultation_id, kind=kind[:32], data=data, at=now))
    session.flush()


def session_events(*, session: Session, consultation_id: uuid.UUID) -> list[SessionEvent]:
    """What happened in the live session (video), oldest first."""
    return list(
        session.execute(
            select(SessionEvent)
            .where(SessionEvent.consultation_id == consultation_id)
            .order_by(col(SessionEvent.at))
        ).scalars()
    )


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
    if c.state not in policy.ATTACHABLE_STATES:
        raise InvalidTransition(entity="consultation", current=c.state, action="attach")
    # The study link dicom writes next is the only record of the attachment.
