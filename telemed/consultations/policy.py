"""Who may do what with a consultation: relations of a user to a request.

    requester            the requesting doctor: edit the draft, consent, attach, submit,
                         cancel, pay, acknowledge, read everything
    requesting_colleague another doctor of the requesting hospital: read only
    candidate            a specialist the request is offered to (proposed, chosen, or of the
                         wanted specialty at the receiving hospital while unassigned):
                         read, accept, decline
    assigned             the assigned specialist: read, decline, schedule, start, write/sign
    coordinator          coordinator of the receiving hospital: read, accept (assigning a
                         specialist), decline, redirect, schedule
    patient              the patient themself: read (the signed opinion included)
    admin                read
Anyone else gets 404: a hidden request does not exist for them.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, or_, select

from telemed.consultations.models import Consultation
from telemed.core.errors import Forbidden
from telemed.core.targets import Access
from telemed.identity.models import DOCTOR_ROLES, Role, User

READ = frozenset(
    {
        "requester",
        "requesting_colleague",
        "candidate",
        "assigned",
        "coordinator",
        "patient",
        "admin",
    }
)
ACTIONS: dict[str, frozenset[str]] = {
    "edit": frozenset({"requester"}),
    "submit": frozenset({"requester"}),
    "cancel": frozenset({"requester"}),
    "pay": frozenset({"requester"}),
    "acknowledge": frozenset({"requester"}),
    "accept": frozenset({"candidate", "coordinator"}),
    "decline": frozenset({"candidate", "assigned", "coordinator"}),
    "redirect": frozenset({"coordinator"}),
    "schedule": frozenset({"assigned", "coordinator"}),
    "start_session": frozenset({"assigned", "requester"}),
    "write_opinion": frozenset({"assigned"}),
    "read_draft_opinion": frozenset({"assigned"}),
    "attach_study": frozenset({"requester"}),
    "book": frozenset({"requester", "assigned", "coordinator"}),
}
# States in which a request still takes attachments (studies) and bookings.
ATTACHABLE_STATES = frozenset({"draft", "submitted", "accepted", "scheduled", "in_session"})
BOOKABLE_STATES = frozenset({"submitted", "accepted", "scheduled"})


def relations(user: User, c: Consultation) -> set[str]:
    """The ways `user` takes part in `c` (empty: none)."""
    rel: set[str] = set()
    if user.role == Role.ADMIN:
        rel.add("admin")
    if user.role == Role.PATIENT:
        if user.patient_id == c.patient_id and c.state != "draft":
            rel.add("patient")
        return rel
    if user.id == c.requesting_doctor_id:
        rel.add("requester")
    elif (
        user.role in DOCTOR_ROLES
        and user.institution_id == c.requesting_institution_id
        and c.state != "draft"
    ):
        rel.add("requesting_colleague")
    if c.state == "draft" or c.receiving_institution_id is None:
        return rel
    if c.assigned_specialist_id is not None and user.id == c.assigned_specialist_id:
        rel.add("assigned")
    if (
        user.role == Role.COORDINATOR
        and user.institution_id is not None
        and user.institution_id == c.receiving_institution_id
    ):
        rel.add("coordinator")
    if (
        user.role == Role.SPECIALIST
        and c.state == "submitted"
        and c.assigned_specialist_id is None
        and user.institution_id == c.receiving_institution_id
        and (
            user.id in (c.proposed_specialist_id, c.chosen_specialist_id)
            or user.specialty_code == c.wanted_specialty
        )
    ):
        rel.add("candidate")
    return rel


def can_read(user: User, c: Consultation) -> bool:
    return bool(relations(user, c) & READ)


def require(user: User, c: Consultation, action: str) -> set[str]:
    """The user's relations, or 403 naming who may do `action`."""
    rel = relations(user, c)
    if not rel & ACTIONS[action]:
        allowed = ", ".join(sorted(ACTIONS[action]))
        raise Forbidden(f"only the {allowed} may {action.replace('_', ' ')} this request")
    return rel


def participates_in_patient(session: Session, user: User, patient_id: uuid.UUID) -> bool:
    """Participation resolver for identity: doctors taking part in a submitted request."""
    if user.role == Role.PATIENT:
        return False
    conds = [
        Consultation.requesting_doctor_id == user.id,
        Consultation.assigned_specialist_id == user.id,
        Consultation.proposed_specialist_id == user.id,
        Consultation.chosen_specialist_id == user.id,
    ]
    if user.role == Role.COORDINATOR and user.institution_id is not None:
        conds.append(Consultation.receiving_institution_id == user.institution_id)
    stmt = (
        select(Consultation.id)
        .where(
            Consultation.patient_id == patient_id,
            Consultation.state != "draft",
            or_(*conds),
        )
        .limit(1)
    )
    return session.execute(stmt).first() is not None


def _access(
    session: Session, user: User, consultation_id: uuid.UUID, action: str, states: frozenset[str]
) -> Access:
    c = session.get(Consultation, consultation_id)
    if c is None:
        return Access.MISSING
    rel = relations(user, c)
    if not rel & READ:
        return Access.HIDDEN
    if not rel & ACTIONS[action]:
        return Access.READ_ONLY
    return Access.WRITE if c.state in states else Access.CLOSED


def study_link_access(session: Session, user: User, consultation_id: uuid.UUID) -> Access:
    """Link-target resolver for dicom: the requester attaches studies while the request
    is open (draft to in_session)."""
    return _access(session, user, consultation_id, "attach_study", ATTACHABLE_STATES)


def booking_reference_access(session: Session, user: User, consultation_id: uuid.UUID) -> Access:
    """Booking-reference resolver for scheduling: the requester, the assigned specialist and
    the receiving coordinators book for a request that is submitted, accepted or scheduled."""
    return _access(session, user, consultation_id, "book", BOOKABLE_STATES)


def takes_part(session: Session, user: User, consultation_id: uuid.UUID) -> bool:
    """Link-access resolver for dicom: studies linked to a request are visible to its readers."""
    c = session.get(Consultation, consultation_id)
    return c is not None and can_read(user, c)
