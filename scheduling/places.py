"""Places in slots: taking one (holds and bookings), giving one back, expiring holds.

Never overbooked: a place is taken by one atomic `UPDATE scheduling_slot SET booked =
booked + 1 WHERE id = :slot AND booked < capacity AND <pool has room>` — the UPDATE takes
the slot's row lock and PostgreSQL re-checks the WHERE clause against the committed row, so
concurrent bookings serialize on the slot and the loser gets 409 `slot_full`. CHECK
constraints (`booked <= capacity`, `reserved_booked <= reserved`) back it up. The UPDATE is
the last statement of a booking, so the lock is held only until the commit that follows.
Releasing places (cancel, expired holds) locks the slot with `FOR NO KEY UPDATE` first.
Overlapping bookings of one person are refused by a PostgreSQL exclusion constraint (and
re-checked under SQLite's single write lock)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from scheduling import full_slots, placement
from scheduling.access import get_booking, record_change, visible_booking
from scheduling.eligibility import eligible
from scheduling.models import ACTIVE_STATUSES, Booking, BookingStatus, Slot, WaitlistEntry
from scheduling.notices import Recipients, notify
from scheduling.policy import (
    NOSHOW_WINDOW_DAYS,
    PATIENT_SERVICE_CLASSES,
    check_noshow_policy,
    resolve_patient,
    settings,
)
from scheduling.states import BOOKING, WAITLIST
from telemed.core import idempotency
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.ids import uuid7
from telemed.core.notifications import Notification
from telemed.identity.models import Role, User

__all__ = [
    "Pending",
    "cancel_place",
    "integrity_conflict",
    "lock_slot",
    "release_expired_holds",
    "release_place",
    "replay",
    "reserve",
    "set_status",
    "settle_offer",
    "take_place",
]


def lock_slot(session: Session, slot_id: uuid.UUID) -> Slot:
    """The slot, locked for giving places back (its committed counters); 404 when none."""
    slot = session.execute(
        select(Slot)
        .where(Slot.id == slot_id)
        # FOR NO KEY UPDATE: does not conflict with the KEY SHARE locks that concurrent
        # booking inserts take through their foreign key (FOR UPDATE would deadlock).
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if slot is None:
        raise NotFound(f"slot {slot_id} not found")
    return slot


def release_place(session: Session, slot: Slot, booking: Booking) -> None:
    """Give a booking's place back to its (locked) slot."""
    full_slots.forget(slot.id)
    session.execute(
        update(Slot)
        .where(col(Slot.id) == slot.id)
        .values(
            booked=Slot.booked - 1,
            reserved_booked=Slot.reserved_booked - (1 if booking.uses_reserved else 0),
        )
        .execution_options(synchronize_session=False)
    )


def release_expired_holds(*, session: Session, slot: Slot, now: datetime) -> int:
    """Cancel the expired holds of a slot locked by the caller; return how many.

    One UPDATE ... RETURNING, so a hold confirmed at the same moment is never also expired.
    """
    rows = session.execute(
        update(Booking)
        .where(
            col(Booking.slot_id) == slot.id,
            col(Booking.status) == BookingStatus.PENDING,
            col(Booking.hold_expires_at) <= now,
        )
        .values(
            status=BookingStatus.CANCELLED,
            hold_expires_at=None,
            status_changed_at=now,
            status_changed_by_id=None,
            status_reason="hold expired",
        )
        .returning(col(Booking.id), col(Booking.uses_reserved), col(Booking.waitlist_entry_id))
        .execution_options(synchronize_session=False)
    ).all()
    offers = [r[2] for r in rows if r[2] is not None]
    if offers:  # offers not confirmed in time lapse (the place goes to the next in line)
        session.execute(
            update(WaitlistEntry)
            .where(col(WaitlistEntry.id).in_(offers), col(WaitlistEntry.status) == "offered")
            .values(status=WAITLIST.next("offered", "lapse"))
            .execution_options(synchronize_session=False)
        )
    if rows:
        session.execute(
            update(Slot)
            .where(col(Slot.id) == slot.id)
            .values(
                booked=Slot.booked - len(rows),
                reserved_booked=Slot.reserved_booked - sum(1 for r in rows if r[1]),
            )
            .execution_options(synchronize_session=False)
        )
        for booking_id, *_ in rows:  # objects already loaded in this session see the change
            cached = session.identity_map.get(session.identity_key(Booking, booking_id))  # type: ignore[arg-type]
            if cached is not None:
                session.refresh(cached)
    if rows:
        full_slots.forget(slot.id)
    return len(rows)


def settle_offer(session: Session, hold: Booking, action: str) -> None:
    """The waitlist request a hold was offered to follows the hold (accept / leave)."""
    if hold.waitlist_entry_id is None:
        return
    entry = session.get(WaitlistEntry, hold.waitlist_entry_id, with_for_update=True)
    if entry is not None and entry.status == "offered":
        entry.status = WAITLIST.next(entry.status, action)


def set_status(
    booking: Booking, action: str, *, by: User | None, now: datetime, reason: str = ""
) -> None:
    """Apply a transition of the booking's state machine, noting who, when and why."""
    booking.status = BOOKING.next(booking.status, action)
    booking.status_changed_at = now
    booking.status_changed_by_id = by.id if by else None
    booking.status_reason = reason[:200]
    if booking.status != BookingStatus.PENDING:
        booking.hold_expires_at = None


def reserve(
    session: Session,
    *,
    booking_id: uuid.UUID | None = None,
    slot_id: uuid.UUID,
    by: User,
    patient_id: uuid.UUID | None,
    now: datetime,
    status: str,
    hold_minutes: int | None = None,
    reference_type: str | None = None,
    reference_id: uuid.UUID | None = None,
    key: str | None = None,
    payload: dict[str, Any] | None = None,
    defer: bool = False,
) -> Pending:
    """Check and prepare a new booking or hold for a slot; the caller then calls
    `take_place` last.

    The result says whether the booking may use reserved capacity, and whether it is the
    replay of an earlier request with the same idempotency `key` (then nothing was written
    and the caller returns it as it is). The place itself is taken by `take_place` as the
    last statement of the transaction, so the slot's row lock is held only until the
    commit that follows (short lock under a booking rush). With `defer` on PostgreSQL the
    claim and the booking row are not written here: `take_place` writes them in the same
    statement as the place (see `scheduling.placement`).
    """
    booking_id = booking_id or uuid7()
    asked = by.patient_id if by.role == Role.PATIENT else patient_id
    hinted = asked or by.id
    row = session.execute(
        placement.state_statement(),
        {
            "slot_id": slot_id,
            "person": hinted,
            "patient": asked,
            "since": now - timedelta(days=NOSHOW_WINDOW_DAYS),
            "now": now,
            "key": key or "",
        },
    ).first()
    if row is None:
        raise NotFound(f"slot {slot_id} not found")
    slot, has_overlap, has_expired, stored_hash, stored_response, noshows, language, n = row
    if key and stored_hash is not None:
        idempotency.verify_replay(stored_hash=stored_hash, payload=payload)
        return Pending(replay(session, stored_response), replayed=True)
    patient_id = resolve_patient(session, by, patient_id)
    # What the first statement read about the patient holds for the one resolved (always
    # so for a patient booking for themselves): no further round trip for the policy check
    # or the notification's recipients.
    same = patient_id is not None and patient_id == asked
    check_noshow_policy(session, by, patient_id, now, count=noshows if same else None)
    known = _recipients(by, patient_id, language, n) if same else None
    person = patient_id or by.id
    if slot.status != "active":
        raise Conflict("this slot was withdrawn from the schedule", code="slot_withdrawn")
    if slot.start_at <= now:
        raise Invalid("this slot is in the past", field="slot_id", code="slot_in_past")
    if by.role == Role.PATIENT and slot.service_class not in PATIENT_SERVICE_CLASSES:
        raise Forbidden(
            f"patients cannot book {slot.service_class} slots", code="service_class_not_allowed"
        )
    reserved_open = slot.reserved > 0 and now < slot.release_at
    want_reserved = reserved_open and eligible(session, by, patient_id)
    if not has_expired and not (
        (want_reserved and _has_room(slot, now, reserved=True))
        or _has_room(slot, now, reserved=False)
    ):
        # Refused early on the committed state just read (nothing written); when there
        # may be room, the atomic UPDATE in `take_place` is what decides. Full for everyone
        # unless places reserved for others (contracted residents) may still be open.
        raise full_slots.SlotFull(slot.id, for_everyone=want_reserved or not reserved_open)
    if has_overlap or person != hinted:
        _clear_person_overlap(session, person, slot, now)
    deferred = defer and placement.is_fast(session)
    claim = None
    if key:
        outcome: dict[str, Any] = {
            "key": key,
            "payload": payload,
            "now": now,
            "status_code": 201,
            "response": {"booking_id": str(booking_id)},
        }
        if deferred:
            claim = idempotency.claim_values(**outcome)
        else:
            previous = idempotency.claim(session=session, **outcome)
            if previous is not None:  # a concurrent duplicate committed after our read
                return Pending(replay(session, previous.response), replayed=True)
    minutes = hold_minutes if hold_minutes is not None else settings().hold_minutes
    booking = Booking(
        id=booking_id,
        slot_id=slot.id,
        patient_id=patient_id,
        booked_by_id=by.id,
        person_id=person,
        status=status,
        reference_type=reference_type,
        reference_id=reference_id,
        start_at=slot.start_at,
        end_at=slot.end_at,
        institution_id=slot.institution_id,
        specialist_id=slot.specialist_id,
        service_class=slot.service_class,
        uses_reserved=False,
        hold_expires_at=now + timedelta(minutes=minutes) if status == "pending" else None,
        status_changed_at=now,
        status_changed_by_id=by.id,
        created_at=now,
    )
    pending = Pending(
        booking,
        want_reserved,
        claim=claim,
        key=key,
        payload=payload,
        recipients=known,
        reserved_open=reserved_open,
    )
    if deferred:
        pending.deferred = True
        return pending
    session.add(booking)
    # PostgreSQL: the insert is flushed together with the outbox rows, right before the
    # place-taking UPDATE; the exclusion constraint refuses an overlapping booking there.
    if session.get_bind().dialect.name != "postgresql":
        # SQLite has no exclusion constraint; our insert takes its single write lock now,
        # so this check cannot race.
        session.flush()
        _clear_person_overlap(session, person, slot, now, exclude=booking.id)
    return pending


@dataclass
class Pending:
    """A booking prepared by `reserve`, for `take_place`."""

    booking: Booking
    want_reserved: bool = False  # may use family-doctor reserved capacity
    replayed: bool = False  # an earlier request's booking, returned as it is
    # PostgreSQL fast path: the booking, its notifications and the key's claim are written
    # by `take_place` in one statement with the place (not yet in the session).
    deferred: bool = False
    claim: dict[str, Any] | None = None
    key: str | None = None
    payload: dict[str, Any] | None = None
    notes: list[Notification] = field(default_factory=list)
    # The patient's accounts and language, when the first statement told them.
    recipients: Recipients | None = None
    # The booking's audit rows, written with the place on the fast path (`audit_written`).
    audit_rows: list[Any] = field(default_factory=list)
    audit_written: bool = False
    # The slot still has places reserved for contracted residents (a refusal may then
    # depend on who asks).
    reserved_open: bool = False


def _recipients(
    by: User, patient_id: uuid.UUID | None, language: str | None, accounts: int
) -> Recipients | None:
    """The patient's Recipients from the first statement's figures: their language, and
    their accounts when they are known without a lookup (none; or the one booking)."""
    if accounts == 0:
        return Recipients(frozenset(), language)
    if accounts == 1 and by.role == Role.PATIENT and by.patient_id == patient_id:
        return Recipients(frozenset({by.id}), language)
    return None  # several accounts: `booking_notes` looks them up


def _clear_person_overlap(
    session: Session, person: uuid.UUID, slot: Slot, now: datetime, exclude: uuid.UUID | None = None
) -> None:
    """Refuse when the person has an active booking overlapping the slot; release their
    own stale holds there (an expired hold must not block them)."""
    stmt = select(Booking).where(
        Booking.person_id == person,
        col(Booking.status).in_(ACTIVE_STATUSES),
        col(Booking.start_at) < slot.end_at,
        col(Booking.end_at) > slot.start_at,
    )
    if exclude is not None:
        stmt = stmt.where(Booking.id != exclude)
    for other in session.execute(stmt).scalars().all():
        stale = (
            other.status == BookingStatus.PENDING
            and other.hold_expires_at is not None
            and other.hold_expires_at <= now
        )
        if not stale:
            raise Conflict(
                "this person already has an appointment at that time", code="person_overlap"
            )
        release_expired_holds(session=session, slot=lock_slot(session, other.slot_id), now=now)


def _has_room(slot: Slot, now: datetime, *, reserved: bool) -> bool:
    """Whether the pool had a place in the state read (the same test as `_try_take`)."""
    if slot.booked >= slot.capacity:
        return False
    if reserved:
        return slot.reserved_booked < slot.reserved and slot.release_at > now
    return slot.release_at <= now or (
        slot.booked - slot.reserved_booked < slot.capacity - slot.reserved
    )


def _try_take(session: Session, slot_id: uuid.UUID, now: datetime, *, reserved: bool) -> bool:
    moved = session.execute(placement.take_statement(slot_id, now, reserved=reserved))
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def _has_expired_holds(session: Session, slot_id: uuid.UUID, now: datetime) -> bool:
    return (
        session.execute(
            select(Booking.id)
            .where(
                Booking.slot_id == slot_id,
                Booking.status == BookingStatus.PENDING,
                col(Booking.hold_expires_at) <= now,
            )
            .limit(1)
        ).first()
        is not None
    )


def take_place(session: Session, pending: Pending, now: datetime) -> Booking:
    """Take the booking's place in its slot, or raise 409 slot_full (savepoint rolls back).

    Returns the booking, or, when a concurrent duplicate won the idempotency key on the
    fast path, the booking that request made."""
    booking, want_reserved = pending.booking, pending.want_reserved
    if pending.deferred:
        booking.uses_reserved = want_reserved
        claimed, taken = placement.place(
            session,
            booking=booking,
            notes=pending.notes,
            claim=pending.claim,
            reserved=want_reserved,
            now=now,
            audited=pending.audit_rows,
        )
        if not claimed:
            assert pending.key is not None
            previous = idempotency.earlier_record(
                session=session, key=pending.key, payload=pending.payload
            )
            return replay(session, previous.response)
        if taken:
            make_transient_to_detached(booking)  # written above: persistent, not re-inserted
            session.add(booking)
            pending.audit_written = bool(pending.audit_rows)
            return booking
        # That pool had no place: write the rows the ORM way and try the others.
        booking.uses_reserved = False
        session.add(booking)
        session.add_all(pending.notes)
    for attempt in range(2):
        if want_reserved and _try_take(session, booking.slot_id, now, reserved=True):
            booking.uses_reserved = True
            session.flush()
            return booking
        if _try_take(session, booking.slot_id, now, reserved=False):
            return booking
        if attempt == 0 and _has_expired_holds(session, booking.slot_id, now):
            # Full, but expired holds still count: release them under the slot lock, retry.
            slot = lock_slot(session, booking.slot_id)
            if release_expired_holds(session=session, slot=slot, now=now) == 0:
                break
        else:
            break
    raise full_slots.SlotFull(
        booking.slot_id, for_everyone=want_reserved or not pending.reserved_open
    )


def integrity_conflict(exc: IntegrityError) -> Conflict:
    """The 409 a constraint's refusal of a booking answers with."""
    message = str(exc.orig)
    if "person_overlap" in message:
        return Conflict(
            "this person already has an appointment at that time", code="person_overlap"
        )
    if "booked_within_capacity" in message or "reserved_booked" in message:
        return Conflict("this slot is fully booked", code="slot_full")
    return Conflict("the booking conflicts with existing data", code="booking_conflict")


def replay(session: Session, response: dict[str, Any] | None) -> Booking:
    """The booking an earlier request with the same idempotency key created."""
    booking_id = (response or {}).get("booking_id")
    if not booking_id:
        raise Conflict("the first request with this key is still running", code="idempotency_busy")
    return get_booking(session=session, booking_id=uuid.UUID(booking_id))


def cancel_place(
    *, session: Session, booking_id: uuid.UUID, by: User, now: datetime, reason: str
) -> tuple[Booking, Slot]:
    """Cancel a booking or hold the caller may see, give its place back and notify; the
    caller offers the freed place to the waitlist (`scheduling.waitlist.offer_freed`)."""
    booking = visible_booking(session=session, user=by, booking_id=booking_id)
    slot = lock_slot(session, booking.slot_id)
    session.refresh(booking)
    if by.role == Role.PATIENT and booking.status == BookingStatus.BOOKED:
        limit = timedelta(hours=settings().patient_cancel_hours_before)
        if booking.start_at - now < limit:
            raise Conflict(
                f"appointments can be cancelled online up to {limit} before the start",
                code="too_late_to_cancel",
            )
    was_hold = booking.status == BookingStatus.PENDING
    set_status(booking, "cancel", by=by, now=now, reason=reason)
    settle_offer(session, booking, "leave")  # declining an offer ends the request
    session.flush()
    release_place(session, slot, booking)
    if not was_hold:
        notify(
            session,
            booking,
            kind="booking.cancelled",
            now=now,
            params={"reason": reason},
        )
    record_change(session, by, "cancel", booking, now=now, detail={"reason": reason[:200]})
    return booking, slot
