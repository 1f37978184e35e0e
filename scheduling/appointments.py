"""The caller's appointments as a list shows them: each booking with its slot's doctor,
specialty and hospital and the service's fee, in one statement (the list is a hot path)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlmodel import Session, col, select

from scheduling.models import Booking, Slot
from scheduling.schemas import BookingListItem
from telemed.consultations.models import FeeSchedule
from telemed.core import audit
from telemed.identity.models import User

__all__ = ["appointments_for", "fee_join"]


def fee_join(slot: Any) -> Any:
    """The ON clause of a slot's fee: the fee schedule's row of its service class and its
    hospital's tier (unique, so an outer join never repeats a slot)."""
    return and_(
        col(FeeSchedule.service_class) == slot.service_class,
        col(FeeSchedule.tier) == slot.tier,
    )


def appointments_for(
    *, session: Session, user: User, limit: int = 50, offset: int = 0
) -> list[BookingListItem]:
    """The user's own bookings (as booker or patient), newest slot first, each with its
    doctor (name, title), specialty, hospital and fee; one statement, the read audited."""
    mine = col(Booking.booked_by_id) == user.id
    if user.patient_id is not None:
        mine = mine | (col(Booking.patient_id) == user.patient_id)
    stmt = (
        select(  # type: ignore[call-overload]
            Booking,
            Slot.specialist_name,
            Slot.title,
            Slot.specialty_code,
            Slot.institution_name,
            FeeSchedule.amount_cents,
            FeeSchedule.currency,
        )
        .join(Slot, col(Slot.id) == col(Booking.slot_id))
        .outerjoin(FeeSchedule, fee_join(Slot))
        .where(mine)
        .order_by(col(Booking.start_at).desc(), col(Booking.id))
        .limit(limit)
        .offset(offset)
    )
    items = []
    bookings = []
    for booking, name, title, specialty, institution, fee, currency in session.execute(stmt):
        bookings.append(booking)
        items.append(
            BookingListItem.model_validate(
                {
                    **booking.model_dump(),
                    "specialist_name": name,
                    "specialist_title": title,
                    "specialty_code": specialty,
                    "institution_name": institution,
                    "fee_cents": fee,
                    "currency": currency,
                }
            )
        )
    audit.read(
        session,
        user,
        object_type="booking",
        patient_ids=[b.patient_id for b in bookings],
        object_ids=[b.id for b in bookings],
    )
    return items
