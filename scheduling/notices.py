"""Telling people about a booking: in the app for each holder, by SMS to its patient."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from scheduling.models import Booking
from telemed.core import notifications
from telemed.core.clock import to_shanghai
from telemed.core.notifications import Notification
from telemed.identity.models import User

__all__ = ["booking_notes", "holders", "notify", "patient_accounts", "when"]


def holders(session: Session, booking: Booking) -> set[uuid.UUID]:
    """Users to tell about a booking: who booked it and the patient's own account."""
    return {booking.booked_by_id, *patient_accounts(session, booking)}


def patient_accounts(session: Session, booking: Booking) -> set[uuid.UUID]:
    """The patient's own accounts (told in the app, like whoever booked)."""
    if booking.patient_id is None:
        return set()
    return set(
        session.execute(select(User.id).where(User.patient_id == booking.patient_id)).scalars()
    )


def booking_notes(
    session: Session,
    booking: Booking,
    *,
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any],
    now: datetime,
) -> list[Notification]:
    """The outbox rows of a booking event, built (the caller writes them): in the app for
    each holder, and one SMS to the booking's patient (accounts or not)."""
    event: dict[str, Any] = {
        "kind": kind,
        "title": title,
        "body": body,
        "data": data,
        "now": now,
        "add": False,
    }
    rows = [
        row
        for uid in sorted(holders(session, booking))
        for row in notifications.enqueue(session=session, user_id=uid, **event)
    ]
    if booking.patient_id is not None:
        rows.append(
            notifications.text_patient(session=session, patient_id=booking.patient_id, **event)
        )
    return rows


def notify(
    session: Session,
    booking: Booking,
    *,
    kind: str,
    title: str,
    body: str,
    now: datetime,
    into: list[Notification] | None = None,
) -> None:
    """Outbox rows for the booking's holders and its patient's SMS, added to the session
    (with `into`: kept there, for a one-statement write of the booking)."""
    rows = booking_notes(
        session,
        booking,
        kind=kind,
        title=title,
        body=body,
        data={"booking_id": str(booking.id), "slot_id": str(booking.slot_id)},
        now=now,
    )
    if into is not None:
        into.extend(rows)
    else:
        session.add_all(rows)


def when(booking: Booking) -> str:
    """The booking's start as people read it (Asia/Shanghai)."""
    return f"{to_shanghai(booking.start_at):%Y-%m-%d %H:%M}"
