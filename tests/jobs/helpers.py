"""Setting up work for the periodic tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from scheduling import service
from scheduling.schemas import WaitlistCreate
from telemed.core.notifications import Notification
from telemed.identity.models import Patient, User
from tests.scheduling.conftest import slots_of, user_named


def waitlist_offer_to_patient(
    session: Session, clock: Any, make_rule: Callable[..., Any], new_doctor: Callable[..., User]
) -> Notification:
    """The demo patient waits for a slot; its holder cancels: the place is offered by SMS."""
    slot = slots_of(session, make_rule())[0]
    holder = new_doctor()
    booking = service.book(
        session=session, slot_id=slot.id, by=holder, patient_id=None, now=clock()
    )
    patient = user_named(session, "patient")
    window = WaitlistCreate(
        specialty_code=slot.specialty_code,
        start_at=slot.start_at - timedelta(days=1),
        end_at=slot.end_at + timedelta(days=1),
    )
    service.join_waitlist(session=session, data=window, by=patient, now=clock())
    service.cancel_booking(
        session=session, booking_id=booking.id, by=holder, now=clock(), reason="plans changed"
    )
    session.flush()
    return sms_of(session, patient, "waitlist.offer")[0]


def sms_of(session: Session, user: User, kind: str) -> list[Notification]:
    return list(
        session.execute(
            select(Notification).where(
                Notification.user_id == user.id,
                Notification.kind == kind,
                Notification.channel == "sms",
            )
        ).scalars()
    )


def withdraw_consent(session: Session, user: User) -> None:
    patient = session.get(Patient, user.patient_id)
    assert patient is not None
    patient.sms_consent_at = None
    session.flush()
