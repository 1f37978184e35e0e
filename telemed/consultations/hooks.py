"""What consultations register with other domains (called once at start by `telemed.wiring`):
who takes part in a patient's care, in a consultation's studies and bookings, and how a
study matched to a consultation's worklist order is attached to it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from dicom import service as dicom_service
from scheduling import service as scheduling_service
from telemed.consultations import policy
from telemed.consultations.models import Consultation
from telemed.consultations.service import attach_matched_study
from telemed.core import live
from telemed.identity.models import User
from telemed.identity.permissions import register_participation

__all__ = ["register_hooks"]


def register_hooks() -> None:
    """Register the consultation resolvers (idempotent: each registry ignores a repeat)."""
    register_participation(policy.participates_in_patient)
    dicom_service.register_link_access("consultation", policy.takes_part)
    dicom_service.register_link_target("consultation", policy.study_link_access)
    scheduling_service.register_booking_reference("consultation", policy.booking_reference_access)
    dicom_service.register_target_attach("consultation", attach_matched_study)
    dicom_service.register_link_context("consultation", viewer_context)
    live.watch(Consultation, "consultation", "state")
    live.register_visibility("consultation", hears_of)


def hears_of(session: Session, user: User, consultation_id: uuid.UUID, before: str | None) -> bool:
    """Does `user` hear of a change of this request on the live channel: they read it now,
    or read it in the state before the change (a candidate specialist whose queue loses a
    request another one accepted: `assigned_specialist_id` is unset in `submitted`)."""
    c = session.get(Consultation, consultation_id)
    if c is None:
        return False
    if policy.can_read(user, c):
        return True
    if before is None or before == c.state:
        return False
    prior = Consultation.model_validate(c.model_dump())
    prior.state = before
    if before == "submitted":
        prior.assigned_specialist_id = None
    return policy.can_read(user, prior)


def viewer_context(
    session: Session, user: User, consultation_id: uuid.UUID
) -> dict[str, Any] | None:
    """A linked request as the image viewer shows it, to those who read the request."""
    c = session.get(Consultation, consultation_id)
    if c is None or not policy.can_read(user, c):
        return None
    return {
        "id": c.id,
        "question": c.question,
        "state": c.state,
        "service_class": c.service_class,
        "patient_id": c.patient_id,
        "link": f"/#/consultations/{c.id}",
    }
