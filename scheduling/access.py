"""Finding slots and bookings, showing them only to who may see them, and their audit rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlmodel import Session

from scheduling.models import Booking, Slot, WaitlistEntry
from scheduling.policy import can_see_booking
from telemed.core import audit
from telemed.core.db import get_or_404
from telemed.identity.models import User

__all__ = [
    "get_booking",
    "get_slot",
    "read_booking",
    "record_change",
    "shown",
    "slot_of",
    "visible_booking",
]


class _OfPatient(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def patient_id(self) -> uuid.UUID | None: ...


_O = TypeVar("_O", bound=_OfPatient)


def get_slot(*, session: Session, slot_id: uuid.UUID) -> Slot:
    """A slot by id; 404 when there is none."""
    slot = get_or_404(session, Slot, slot_id, "slot")
    return slot


def get_booking(*, session: Session, booking_id: uuid.UUID) -> Booking:
    """A booking by id (no authorization: callers decide who may see it)."""
    booking = get_or_404(session, Booking, booking_id, "booking")
    return booking


def slot_of(*, session: Session, booking: Booking) -> Slot:
    """The slot of a booking."""
    return get_slot(session=session, slot_id=booking.slot_id)


def shown(
    session: Session, user: User, obj: _O, *, object_type: str, what: str | None = None
) -> _O:
    """`obj` (a booking, a waitlist request), its read by `user` audited with its patient."""
    audit.read(
        session,
        user,
        object_type=object_type,
        object_id=obj.id,
        patient_ids=[obj.patient_id],
        what=what,
    )
    return obj


def visible_booking(*, session: Session, user: User, booking_id: uuid.UUID) -> Booking:
    """A booking the user may see; 404 otherwise (no existence leak)."""
    booking = session.get(Booking, booking_id)
    return audit.visible_or_404(
        session,
        user,
        booking,
        visible=booking is not None
        and can_see_booking(session=session, user=user, booking=booking),
        object_type="booking",
        ident=booking_id,
        reason="neither booker, patient, specialist nor staff of the slot's institution",
    )


def read_booking(
    *, session: Session, user: User, booking_id: uuid.UUID, what: str | None = None
) -> Booking:
    """A booking the user may see, for display; the read audited (`what`: ics, fhir ...)."""
    booking = visible_booking(session=session, user=user, booking_id=booking_id)
    return shown(session, user, booking, object_type="booking", what=what)


def record_change(
    session: Session,
    by: User | None,
    action: str,
    obj: Booking | WaitlistEntry,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit row of a change of a booking (or a waitlist request), naming its patient."""
    audit.record(
        session=session,
        by=by,
        actor_role=None if by else "system",
        action=action,
        object_type="booking" if isinstance(obj, Booking) else "waitlist",
        object_id=obj.id,
        patient_id=obj.patient_id,
        detail={"status": obj.status, **(detail or {})},
        at=now,
    )
