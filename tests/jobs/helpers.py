"""Setting up work for the periodic tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from scheduling import service
from scheduling.schemas import WaitlistCreate
from telemed.core.notifications import Notification
from telemed.identity.models import Patient, User
from tests.scheduling.conftest import slots_of, user_named


def waitlist_offer_to_patient(
    session: Session, clock: Any, make_rule: Callable[..., Any], new_doctor: Callable[..., User]
) -> Notification:
    """The demo patient waits for a slot; its holder cancels: the place is offered by SMS.
    Each call offers another day (the patient cannot hold two places at one time)."""
    patient = user_named(session, "patient")
    earlier = len(sms_of(session, patient, "waitlist.offer"))
    slot = slots_of(session, make_rule())[earlier]
    holder = new_doctor()
    booking = service.book(
        session=session, slot_id=slot.id, by=holder, patient_id=None, now=clock()
    )
    window = WaitlistCreate(
        specialty_code=slot.specialty_code,
        start_at=slot.start_at - timedelta(days=1),
        end_at=slot.end_at + timedelta(days=1),
    )
    entry = service.join_waitlist(session=session, data=window, by=patient, now=clock())
    service.cancel_booking(
        session=session, booking_id=booking.id, by=holder, now=clock(), reason="plans changed"
    )
    session.flush()
    session.refresh(entry)
    [offer] = [
        n
        for n in sms_of(session, patient, "waitlist.offer")
        if n.data["booking_id"] == str(entry.offered_booking_id)
    ]
    return offer


def sms_of(session: Session, user: User, kind: str) -> list[Notification]:
    """The SMS rows of `kind` to the user's patient (addressed to the patient, no account)."""
    return list(
        session.execute(
            select(Notification).where(
                Notification.patient_id == user.patient_id,
                col(Notification.user_id).is_(None),
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
