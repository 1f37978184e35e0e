"""Telling people about a booking: in the app for each holder, by SMS to its patient, from
the message of its kind (scheduling.messages): the patient's own accounts and SMS row in
the patient's language, whoever else booked it in zh-CN (the default; the booker's own
language is not looked up on the booking's hot path). Each row keeps the code and its
parameters, so a client renders it in its own language."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from scheduling.messages import MESSAGES
from scheduling.models import Booking
from telemed.core import notifications
from telemed.core.clock import to_shanghai
from telemed.core.i18n import Message, render
from telemed.core.notifications import Notification
from telemed.identity import service as identity_service
from telemed.identity.models import Patient, User

__all__ = [
    "Recipients",
    "booking_notes",
    "holders",
    "notify",
    "patient_accounts",
    "patient_language",
    "patient_message",
    "recipients_of",
    "when",
]


@dataclass(frozen=True)
class Recipients:
    """Who a booking's patient is in the app and the language they read: resolved once
    (per slot for many bookings, in the booking's first statement on the hot path) and
    handed to `booking_notes` instead of two lookups per notification."""

    accounts: frozenset[uuid.UUID] = field(default_factory=frozenset)
    language: str | None = None


def recipients_of(
    session: Session, patient_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, Recipients]:
    """The Recipients of each patient in `patient_ids`, in two queries whatever their number."""
    wanted = {p for p in patient_ids if p is not None}
    if not wanted:
        return {}
    accounts: dict[uuid.UUID, set[uuid.UUID]] = {p: set() for p in wanted}
    for uid, pid in session.execute(
        select(User.id, User.patient_id).where(col(User.patient_id).in_(wanted))
    ).all():
        accounts[pid].add(uid)
    languages = dict(
        session.execute(
            select(Patient.id, Patient.preferred_language).where(col(Patient.id).in_(wanted))
        ).all()
    )
    return {p: Recipients(frozenset(accounts[p]), languages.get(p)) for p in wanted}


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


def patient_language(*, session: Session, booking: Booking) -> str | None:
    """The language the booking's patient is told things in (None: not chosen)."""
    return identity_service.patient_language(session=session, patient_id=booking.patient_id)


def patient_message(
    session: Session,
    booking: Booking,
    kind: str,
    params: dict[str, object] | None = None,
    known: Recipients | None = None,
) -> Message:
    """The booking event `kind` as its patient reads it, in their language (zh-CN when
    none is chosen). `time` is the booking's start."""
    language = (
        known.language if known is not None else patient_language(session=session, booking=booking)
    )
    return render(MESSAGES, kind, language, **_values(booking, params))


def _values(booking: Booking, params: dict[str, object] | None) -> dict[str, object]:
    return {"time": booking.start_at, **(params or {})}


def booking_notes(
    session: Session,
    booking: Booking,
    *,
    kind: str,
    data: dict[str, Any],
    now: datetime,
    params: dict[str, object] | None = None,
    known: Recipients | None = None,
) -> list[Notification]:
    """The outbox rows of a booking event, built (the caller writes them): in the app for
    each holder, and one SMS to the booking's patient (accounts or not). The patient's
    accounts and SMS row read the event in the patient's language (`params` fill its text).
    `known`: the patient's Recipients, already resolved (no lookup here)."""
    values = _values(booking, params)
    event: dict[str, Any] = {"kind": kind, "data": data, "now": now, "add": False, "params": values}
    shown = render(MESSAGES, kind, None, **values)
    told = patient_message(session, booking, kind, params, known)
    accounts = set(known.accounts) if known is not None else patient_accounts(session, booking)
    rows = [
        row
        for uid in sorted({booking.booked_by_id, *accounts})
        for text in [told if uid in accounts else shown]
        for row in notifications.enqueue(
            session=session, user_id=uid, title=text.title, body=text.body, **event
        )
    ]
    if booking.patient_id is not None:
        rows.append(
            notifications.text_patient(
                session=session,
                patient_id=booking.patient_id,
                title=told.title,
                body=told.body,
                **event,
            )
        )
    return rows


def notify(
    session: Session,
    booking: Booking,
    *,
    kind: str,
    now: datetime,
    into: list[Notification] | None = None,
    params: dict[str, object] | None = None,
    known: Recipients | None = None,
) -> None:
    """Outbox rows for the booking's holders and its patient's SMS, added to the session
    (with `into`: kept there, for a one-statement write of the booking)."""
    rows = booking_notes(
        session,
        booking,
        kind=kind,
        data={"booking_id": str(booking.id), "slot_id": str(booking.slot_id)},
        now=now,
        params=params,
        known=known,
    )
    if into is not None:
        into.extend(rows)
    else:
        session.add_all(rows)


def when(booking: Booking) -> str:
    """The booking's start as people read it (Asia/Shanghai)."""
    return f"{to_shanghai(booking.start_at):%Y-%m-%d %H:%M}"
