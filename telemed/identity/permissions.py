"""Object-level permissions that every domain uses.

A doctor sees the patients of their institution and those of consultations or
referrals they take part in; a patient sees only themself; admins see all.
Domains that create participation (consultations, referrals, imaging links)
register a resolver here, so identity never imports them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from telemed.core import audit
from telemed.core.errors import Forbidden
from telemed.identity.models import DOCTOR_ROLES, Patient, Role, User

# (session, user, patient_id) -> True when the user takes part in care of that patient
ParticipationResolver = Callable[[Session, User, uuid.UUID], bool]
_resolvers: list[ParticipationResolver] = []
# user -> a SELECT of the patient ids the user takes part in the care of (None: none); the same
# people as the resolvers', as SQL, so a search finds them without reading every patient
ParticipantPatients = Callable[[User], Any]
_participant_queries: list[ParticipantPatients] = []


def register_participation(resolver: ParticipationResolver) -> None:
    """Let a domain grant patient access to the doctors taking part in its objects."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def register_participant_patients(query: ParticipantPatients) -> None:
    """Let a domain tell searches which patients its participation resolver grants (as SQL)."""
    if query not in _participant_queries:
        _participant_queries.append(query)


def participant_patient_queries(user: User) -> list[Any]:
    """The SELECTs of patient ids `user` takes part in the care of, one per domain."""
    return [q for q in (query(user) for query in _participant_queries) if q is not None]


def is_staff(user: User) -> bool:
    return user.role in (*DOCTOR_ROLES, Role.COORDINATOR, Role.ADMIN)


def can_read_patient(session: Session, user: User, patient: Patient) -> bool:
    """True when `user` may read `patient`."""
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.PATIENT:
        return user.patient_id == patient.id
    if (
        user.institution_id is not None
        and patient.institution_id == user.institution_id
        and is_staff(user)
    ):
        return True
    return any(resolver(session, user, patient.id) for resolver in _resolvers)


def can_act_for_patient(session: Session, user: User, patient: Patient) -> bool:
    """True when a doctor may start care for `patient` (request, refer, book for them)."""
    if user.role not in (*DOCTOR_ROLES, Role.COORDINATOR, Role.ADMIN):
        return False
    return can_read_patient(session, user, patient)


def require_patient_read(session: Session, user: User, patient_id: uuid.UUID) -> Patient:
    """Load a patient the user may see; 404 when absent or hidden (no existence leak)."""
    patient = session.get(Patient, patient_id)
    return audit.visible_or_404(
        session,
        user,
        patient,
        visible=patient is not None and can_read_patient(session, user, patient),
        object_type="patient",
        ident=patient_id,
        patient_id=patient_id,
        reason="neither of the patient's institution nor taking part in their care",
    )


def require_same_institution(user: User, institution_id: uuid.UUID | None) -> None:
    """Staff may act only for their own institution (admins for all)."""
    if user.role == Role.ADMIN:
        return
    if user.institution_id is None or user.institution_id != institution_id:
        raise Forbidden("this action is limited to staff of the institution concerned")
