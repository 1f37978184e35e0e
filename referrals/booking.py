"""The one seam to the scheduling service: booking slots and the reserved-capacity hook.

Referrals and home visits book through `book_slot`; nothing else in referrals imports
scheduling. The reserved-capacity hook lets the resident's own contracted family
doctor (or the contracted resident) use the family-doctor share of slots.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from referrals.family.contract_queries import active_contract_for, is_contracted_doctor
from scheduling import service as scheduling_service
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.identity.models import Role, User


@dataclass(frozen=True)
class SlotBooking:
    booking_id: uuid.UUID
    start_at: datetime | None
    end_at: datetime | None


def reserved_eligible(session: Session, user: User, patient_id: uuid.UUID | None) -> bool:
    """May this booking use family-doctor reserved capacity? The patient's own contracted
    family doctor, or the contracted resident themself."""
    if patient_id is None:
        return False
    if user.role == Role.PATIENT:
        return (
            user.patient_id == patient_id
            and active_contract_for(session=session, patient_id=patient_id) is not None
        )
    return is_contracted_doctor(session=session, user=user, patient_id=patient_id)


def register_hooks(references: dict[str, Callable[[Session, User, uuid.UUID], Any]]) -> None:
    """Register the reserved-capacity eligibility and who may book for our objects
    (`references`: booking reference type -> resolver) with scheduling."""
    scheduling_service.register_reserved_eligibility(reserved_eligible)
    for reference_type, fn in references.items():
        scheduling_service.register_booking_reference(reference_type, fn)


def book_slot(
    *,
    session: Session,
    slot_id: uuid.UUID,
    by: User,
    patient_id: uuid.UUID,
    now: datetime,
    reference_type: str,
    reference_id: uuid.UUID,
    idempotency_key: str | None = None,
    institution_id: uuid.UUID | None = None,
) -> SlotBooking:
    """Book a slot of the scheduling service for a referral or a home visit; the slot must
    be at `institution_id` (the receiver, or the team's institution) when given."""
    if institution_id is not None:
        slot = scheduling_service.get_slot(session=session, slot_id=slot_id)
        if slot.institution_id != institution_id:
            raise Invalid(
                "the slot is not at the institution this is booked with",
                field="slot_id",
                code="slot_elsewhere",
            )
    try:
        booking = scheduling_service.book(
            session=session,
            slot_id=slot_id,
            by=by,
            patient_id=patient_id,
            now=now,
            idempotency_key=idempotency_key,
            reference_type=reference_type,
            reference_id=reference_id,
        )
    except Conflict as exc:
        if exc.code == "slot_full" and _only_reserved_left(session, slot_id, now):
            if not reserved_eligible(session, by, patient_id):
                raise Conflict(
                    "the free places of this slot are reserved for referrals made by the "
                    "resident's own contracted family doctor",
                    code="reserved_for_contracted_residents",
                    slot_id=str(slot_id),
                ) from exc
        raise
    return SlotBooking(
        booking_id=booking.id,
        start_at=getattr(booking, "start_at", None),
        end_at=getattr(booking, "end_at", None),
    )


def _only_reserved_left(session: Session, slot_id: uuid.UUID, now: datetime) -> bool:
    try:
        slot = scheduling_service.get_slot(session=session, slot_id=slot_id)
    except NotFound:
        return False
    reserved_free = int(getattr(slot, "reserved", 0)) - int(getattr(slot, "reserved_booked", 0))
    release_at = getattr(slot, "release_at", None)
    return reserved_free > 0 and (release_at is None or release_at > now)


def cancel_slot_booking(
    *, session: Session, booking_id: uuid.UUID, by: User, now: datetime, reason: str
) -> None:
    """Release the slot of a cancelled referral or home visit."""
    try:
        scheduling_service.cancel_booking(
            session=session, booking_id=booking_id, by=by, now=now, reason=reason
        )
    except (NotFound, Forbidden):
        # The referral's cancellation is authorized by referrals; a receiver whom scheduling
        # does not let see the booking releases it in the booker's name, saying who did.
        booking = scheduling_service.get_booking(session=session, booking_id=booking_id)
        booker = session.get(User, booking.booked_by_id)
        if booker is None or booker.id == by.id:
            raise
        scheduling_service.cancel_booking(
            session=session,
            booking_id=booking_id,
            by=booker,
            now=now,
            reason=f"referral cancelled by {by.full_name}: {reason}",
        )
