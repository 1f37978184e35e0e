"""Bookings: holding and booking a slot, confirming a hold, cancel/reschedule, attendance,
the caller's bookings and the day-before reminders.

The places themselves are taken and given back by `scheduling.places`; a freed place is
offered on by `scheduling.waitlist`. Each public booking call runs in a savepoint: a refusal
leaves no hold, booking, notification or idempotency key behind."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any, Unpack

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from scheduling.access import (
    PageQuery,
    change_rows,
    own_page,
    record_change,
    shown,
    visible_booking,
)
from scheduling.models import Booking, BookingStatus
from scheduling.notices import notify
from scheduling.places import (
    Pending,
    cancel_place,
    integrity_conflict,
    lock_slot,
    release_place,
    replay,
    reserve,
    set_status,
    settle_offer,
    take_place,
)
from scheduling.policy import may_manage
from scheduling.references import require_reference
from scheduling.states import BOOKING
from scheduling.waitlist import offer_freed
from telemed.core import audit, idempotency
from telemed.core.errors import Conflict, Forbidden, Invalid
from telemed.core.ids import uuid7
from telemed.identity.models import User

__all__ = [
    "register_on_cancelled",
    "book",
    "bookings_for",
    "bookings_page",
    "cancel_booking",
    "hold_slot",
    "mark",
    "reschedule",
    "send_reminders",
]


def _audited(
    session: Session, by: User, action: str, pending: Pending, got: Booking, now: datetime
) -> Booking:
    """Audit what a hold or booking request did: the change, or (a replay of an earlier
    request with the same key) the read of the booking it answers with."""
    if pending.replayed or got.id != pending.booking.id:
        return shown(session, by, got, object_type="booking")
    if not pending.audit_written:
        record_change(session, by, action, got, now=now)
    return got


def _take(session: Session, by: User, action: str, pending: Pending, now: datetime) -> Booking:
    """Take the place (last: short slot lock); on the fast path the booking's audit rows
    go into the same statement, written only if the place was taken."""
    if pending.deferred:
        pending.audit_rows = change_rows(by, action, pending.booking, now=now)
    return _audited(session, by, action, pending, take_place(session, pending, now), now)


def _claim_key(
    session: Session,
    *,
    scope: str,
    by: User,
    key: str | None,
    payload: dict[str, Any],
    now: datetime,
    booking_id: uuid.UUID,
) -> Booking | None:
    """Claim the idempotency key of a booking request, recording the id of the booking it
    will answer with in the same statement; the booking of an earlier use, else None."""
    scoped = _scoped_key(key, scope, by)
    if scoped is None:
        return None
    previous = idempotency.claim(
        session=session,
        key=scoped,
        payload=payload,
        now=now,
        status_code=201,
        response={"booking_id": str(booking_id)},
    )
    return None if previous is None else replay(session, previous.response)


def _scoped_key(key: str | None, scope: str, by: User) -> str | None:
    """The stored form of a caller's idempotency key (None without one)."""
    return idempotency.scoped_key(scope=scope, user_id=by.id, key=key) if key else None


def _atomic(session: Session, enabled: bool) -> AbstractContextManager[Any]:
    """A savepoint, so a refusal leaves nothing behind for in-process callers. Routes pass
    `atomic=False`: their whole request transaction rolls back on any refusal anyway."""
    return session.begin_nested() if enabled else nullcontext()


def hold_slot(
    *,
    session: Session,
    slot_id: uuid.UUID,
    by: User,
    patient_id: uuid.UUID | None,
    now: datetime,
    idempotency_key: str | None = None,
    minutes: int | None = None,
    atomic: bool = True,
) -> Booking:
    """Hold one place of a slot for a few minutes (a `pending` booking)."""
    payload = {"slot_id": str(slot_id), "patient_id": str(patient_id)}
    scoped = _scoped_key(idempotency_key, "scheduling.hold", by)
    try:
        with _atomic(session, atomic):
            pending = reserve(
                session,
                slot_id=slot_id,
                by=by,
                patient_id=patient_id,
                now=now,
                status=BookingStatus.PENDING,
                hold_minutes=minutes,
                key=scoped,
                payload=payload,
                defer=True,
            )
            if pending.replayed:
                return _audited(session, by, "hold", pending, pending.booking, now)
            # audited with the place taken: a lost idempotency race answers a replay
            return _take(session, by, "hold", pending, now)
    except IntegrityError as exc:
        raise integrity_conflict(exc) from None


def book(
    *,
    session: Session,
    slot_id: uuid.UUID | None,
    by: User,
    patient_id: uuid.UUID | None,
    now: datetime,
    idempotency_key: str | None = None,
    reference_type: str | None = None,
    reference_id: uuid.UUID | None = None,
    hold_id: uuid.UUID | None = None,
    atomic: bool = True,
) -> Booking:
    """Book a slot, straight or by confirming the caller's hold; 409 slot_full / hold_expired.
    A reference must be an object the booker may act on (`scheduling.references`)."""
    require_reference(
        session=session, user=by, reference_type=reference_type, reference_id=reference_id
    )
    payload = {
        "slot_id": str(slot_id),
        "patient_id": str(patient_id),
        "hold_id": str(hold_id),
        "reference_type": reference_type,
        "reference_id": str(reference_id),
    }
    try:
        with _atomic(session, atomic):
            pending: Pending | None = None
            if hold_id is not None:
                previous = _claim_key(
                    session,
                    scope="scheduling.book",
                    by=by,
                    key=idempotency_key,
                    payload=payload,
                    now=now,
                    booking_id=hold_id,  # confirming keeps the hold's id
                )
                if previous is not None:
                    return shown(session, by, previous, object_type="booking")
                booking = _confirm_hold(
                    session,
                    hold_id=hold_id,
                    slot_id=slot_id,
                    by=by,
                    patient_id=patient_id,
                    now=now,
                    reference_type=reference_type,
                    reference_id=reference_id,
                )
            elif slot_id is None:
                raise Invalid("give slot_id or hold_id", field="slot_id")
            else:
                pending = reserve(
                    session,
                    slot_id=slot_id,
                    by=by,
                    patient_id=patient_id,
                    now=now,
                    status=BookingStatus.BOOKED,
                    reference_type=reference_type,
                    reference_id=reference_id,
                    key=_scoped_key(idempotency_key, "scheduling.book", by),
                    payload=payload,
                    defer=True,
                )
                if pending.replayed:
                    return _audited(session, by, "book", pending, pending.booking, now)
                booking = pending.booking
            notify(
                session,
                booking,
                kind="booking.confirmed",
                now=now,
                into=pending.notes if pending is not None and pending.deferred else None,
                known=pending.recipients if pending is not None else None,
            )
            if pending is not None:
                return _take(session, by, "book", pending, now)
            record_change(session, by, "book", booking, now=now, detail={"hold_id": str(hold_id)})
            return booking
    except IntegrityError as exc:
        raise integrity_conflict(exc) from None


def _confirm_hold(
    session: Session,
    *,
    hold_id: uuid.UUID,
    slot_id: uuid.UUID | None,
    by: User,
    patient_id: uuid.UUID | None,
    now: datetime,
    reference_type: str | None,
    reference_id: uuid.UUID | None,
) -> Booking:
    found = session.get(Booking, hold_id)
    hold = audit.visible_or_404(
        session,
        by,
        found,
        visible=found is not None and found.booked_by_id == by.id,
        object_type="booking",
        ident=hold_id,
        label="hold",
        reason="confirms a hold someone else made",
    )
    if slot_id is not None and slot_id != hold.slot_id:
        raise Invalid("the hold is for another slot", field="slot_id")
    if patient_id is not None and hold.patient_id is not None and patient_id != hold.patient_id:
        raise Invalid("the hold is for another patient", field="patient_id")
    # One atomic UPDATE: a concurrent expiry (under the slot lock) and this confirmation
    # cannot both win.
    confirmed = session.execute(
        update(Booking)
        .where(
            col(Booking.id) == hold.id,
            col(Booking.status) == BookingStatus.PENDING,
            col(Booking.hold_expires_at) > now,
        )
        .values(
            status=BookingStatus.BOOKED,
            hold_expires_at=None,
            status_changed_at=now,
            status_changed_by_id=by.id,
            status_reason="",
            reference_type=reference_type or hold.reference_type,
            reference_id=reference_id or hold.reference_id,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(hold)
    if confirmed.rowcount != 1:  # type: ignore[attr-defined]
        if hold.status == BookingStatus.PENDING or hold.status_reason == "hold expired":
            raise Conflict("the hold has expired; hold the slot again", code="hold_expired")
        BOOKING.next(hold.status, "confirm")  # raises InvalidTransition
    settle_offer(session, hold, "accept")
    session.flush()
    return hold


# Called in the cancelling transaction with (session=, booking=, by=, now=): payments
# refunds a paid booking's order (registered by telemed.wiring).
OnCancelled = Callable[..., None]
ON_CANCELLED: list[OnCancelled] = []


def register_on_cancelled(fn: OnCancelled) -> None:
    """Let another domain act when a booking or hold is cancelled."""
    if fn not in ON_CANCELLED:
        ON_CANCELLED.append(fn)


def cancel_booking(
    *, session: Session, booking_id: uuid.UUID, by: User, now: datetime, reason: str
) -> Booking:
    """Cancel a booking or hold, free its place, notify, and offer it to the waitlist."""
    with session.begin_nested():
        booking, slot = cancel_place(
            session=session, booking_id=booking_id, by=by, now=now, reason=reason
        )
        offer_freed(session=session, slot=slot, now=now)
        for fn in ON_CANCELLED:
            fn(session=session, booking=booking, by=by, now=now)
        return booking


def reschedule(
    *,
    session: Session,
    booking_id: uuid.UUID,
    new_slot_id: uuid.UUID,
    by: User,
    now: datetime,
    reason: str = "",
    idempotency_key: str | None = None,
) -> Booking:
    """Move a booking to another slot in one step (old place freed only if the new one is taken)."""
    payload = {"booking_id": str(booking_id), "slot_id": str(new_slot_id)}
    new_id = uuid7()
    try:
        with session.begin_nested():
            previous = _claim_key(
                session,
                scope="scheduling.reschedule",
                by=by,
                key=idempotency_key,
                payload=payload,
                now=now,
                booking_id=new_id,
            )
            if previous is not None:
                return previous
            old = visible_booking(session=session, user=by, booking_id=booking_id)
            if old.status != BookingStatus.BOOKED:
                BOOKING.next(old.status, "cancel")  # raises for finished bookings
            old_slot = lock_slot(session, old.slot_id)
            session.refresh(old)
            set_status(old, "cancel", by=by, now=now, reason=reason or "rescheduled")
            session.flush()
            release_place(session, old_slot, old)
            pending = reserve(
                session,
                booking_id=new_id,
                slot_id=new_slot_id,
                by=by,
                patient_id=old.patient_id,
                now=now,
                status=BookingStatus.BOOKED,
                reference_type=old.reference_type,
                reference_id=old.reference_id,
            )
            new = pending.booking
            new.rescheduled_from_id = old.id
            take_place(session, pending, now)
            record_change(
                session, by, "cancel", old, now=now, detail={"rescheduled_to": str(new.id)}
            )
            record_change(session, by, "reschedule", new, now=now, detail={"from": str(old.id)})
            notify(
                session,
                new,
                kind="booking.changed",
                now=now,
                params={"old": old.start_at, "new": new.start_at},
            )
            session.flush()
            offer_freed(session=session, slot=old_slot, now=now)
            return new
    except IntegrityError as exc:
        raise integrity_conflict(exc) from None


def mark(
    *, session: Session, booking_id: uuid.UUID, action: str, by: User, now: datetime
) -> Booking:
    """Arrive, fulfil or noshow: done by the staff running the slot."""
    booking = visible_booking(session=session, user=by, booking_id=booking_id)
    if not may_manage(session, by, booking):
        raise Forbidden("only the staff running this slot may record attendance")
    if action == "noshow" and booking.start_at > now:
        raise Conflict("a no-show is recorded only after the start time", code="too_early")
    set_status(booking, action, by=by, now=now)
    record_change(session, by, action, booking, now=now)
    session.flush()
    return booking


def bookings_for(
    *, session: Session, user: User, limit: int = 50, offset: int = 0
) -> list[Booking]:
    """The user's own bookings (as booker or patient), newest slot first."""
    return bookings_page(session=session, user=user, limit=limit, offset=offset, count=False)[0]


def bookings_page(
    *, session: Session, user: User, **query: Unpack[PageQuery]
) -> tuple[list[Booking], int | None]:
    """One page of the user's own bookings (as booker or patient), newest slot first,
    optionally narrowed (`PageQuery`); with the total unless `count=False`. The read
    audited."""
    mine = col(Booking.booked_by_id) == user.id
    if user.patient_id is not None:
        mine = mine | (col(Booking.patient_id) == user.patient_id)
    order = (col(Booking.start_at).desc(), col(Booking.id))
    return own_page(session, user, Booking, mine, order, query)


def send_reminders(*, session: Session, now: datetime) -> int:
    """Enqueue the day-before reminder for bookings starting in the next 24 hours (once each)."""
    rows = list(
        session.execute(
            select(Booking)
            .where(
                Booking.status == BookingStatus.BOOKED,
                col(Booking.reminded_at).is_(None),
                col(Booking.start_at) > now,
                col(Booking.start_at) <= now + timedelta(hours=24),
            )
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    for b in rows:
        b.reminded_at = now
        notify(
            session,
            b,
            kind="booking.reminder",
            now=now,
        )
    session.flush()
    return len(rows)
