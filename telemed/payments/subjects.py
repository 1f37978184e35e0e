"""What an order can be for (its subject), one kind per domain: loads the subject for the
caller (404 when they may not act on it), prices it and releases what it holds.

Today: `booking` (an outpatient booking in scheduling, priced by the fee schedule row of
its slot's service class and hospital tier). Further kinds (a consultation fee borne by the
patient, home visits) register a `SubjectKind` in `KINDS`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, select

from scheduling import service as scheduling_service
from telemed.consultations.models import FeeSchedule
from telemed.core.errors import Conflict, DomainError, Invalid
from telemed.identity import service as identity_service
from telemed.identity.models import User

__all__ = ["KINDS", "Subject", "SubjectKind", "kind_of"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subject:
    """A payable thing, as an order records it."""

    type: str
    id: uuid.UUID
    patient_id: uuid.UUID
    institution_id: uuid.UUID
    service_class: str
    total_cents: int
    currency: str
    description: str  # shown to the payer by the provider (zh-CN, ≤ 127 bytes)


class SubjectKind(Protocol):
    def load(self, *, session: Session, user: User, subject_id: uuid.UUID) -> Subject:
        """The subject, when `user` may pay for it (else 404 / 409)."""

    def release(self, *, session: Session, subject_id: uuid.UUID, now: datetime) -> bool:
        """Give back what an unpaid order held (True when something was released)."""


def _fit(text: str, limit: int = 127) -> str:
    while len(text.encode()) > limit:
        text = text[:-1]
    return text


class BookingSubject:
    """An outpatient booking (门诊预约挂号费)."""

    def load(self, *, session: Session, user: User, subject_id: uuid.UUID) -> Subject:
        booking = scheduling_service.visible_booking(
            session=session, user=user, booking_id=subject_id
        )
        if booking.patient_id is None:
            raise Conflict("this booking has no patient to pay for it", code="no_payer")
        if booking.status not in ("pending", "booked"):
            raise Conflict(
                f"a {booking.status} booking is not paid for", code="subject_not_payable"
            )
        slot = scheduling_service.slot_of(session=session, booking=booking)
        fee = session.execute(
            select(FeeSchedule).where(
                FeeSchedule.service_class == slot.service_class, FeeSchedule.tier == slot.tier
            )
        ).scalar_one_or_none()
        return Subject(
            type="booking",
            id=booking.id,
            patient_id=booking.patient_id,
            institution_id=booking.institution_id,
            service_class=booking.service_class,
            total_cents=fee.amount_cents if fee else 0,
            currency=fee.currency if fee else "CNY",
            description=_fit(f"门诊预约挂号费 {slot.institution_name}"),
        )

    def release(self, *, session: Session, subject_id: uuid.UUID, now: datetime) -> bool:
        """Cancel the unpaid booking, on behalf of the one who booked it."""
        booking = scheduling_service.get_booking(session=session, booking_id=subject_id)
        if booking.status not in ("pending", "booked"):
            return False
        booker = identity_service.get_user(session=session, user_id=booking.booked_by_id)
        try:
            scheduling_service.cancel_booking(
                session=session, booking_id=booking.id, by=booker, now=now, reason="payment expired"
            )
        except DomainError as exc:  # e.g. too late to cancel online: the place stays taken
            log.warning("unpaid booking %s not released: %s", booking.id, exc.code)
            return False
        return True


KINDS: dict[str, SubjectKind] = {"booking": BookingSubject()}


def kind_of(subject_type: str) -> SubjectKind:
    """The kind called `subject_type`, or 422 `unknown_subject_type`."""
    kind = KINDS.get(subject_type)
    if kind is None:
        raise Invalid(
            f"orders cannot be made for {subject_type!r}",
            field="subject_type",
            code="unknown_subject_type",
        )
    return kind
