"""Bookings and holds: taking a place, confirming, cancel/reschedule, attendance, reminders.

Never overbooked: a place is taken by one atomic `UPDATE scheduling_slot SET booked =
booked + 1 WHERE id = :slot AND booked < capacity AND <pool has room>` — the UPDATE takes
the slot's row lock and PostgreSQL re-checks the WHERE clause against the committed row, so
concurrent bookings serialize on the slot and the loser gets 409 `slot_full`. CHECK
constraints (`booked <= capacity`, `reserved_booked <= reserved`) back it up. The UPDATE is
the last statement of a booking, so the lock is held only until the commit that follows.
Releasing places (cancel, expired holds) locks the slot with `FOR NO KEY UPDATE` first.
Overlapping bookings of one person are refused by a PostgreSQL exclusion constraint (and
re-checked under SQLite's single write lock). Each public booking call runs in a
savepoint: a refusal leaves no hold, booking, notification or idempotency key behind."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, exists, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from scheduling import placement
from scheduling.eligibility import _eligible
from scheduling.horizon import booking_notes
from scheduling.models import ACTIVE_STATUSES, Booking, BookingStatus, Slot, WaitlistEntry
from scheduling.references import require_reference
from scheduling.states import BOOKING, WAITLIST
from telemed.core import audit, idempotency
from telemed.core.clock import to_shanghai
from telemed.core.db import UTCDateTime, get_or_404
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.ids import uuid7
from telemed.core.notifications import Notification
from telemed.core.settings import SchedulingSettings, get_settings
from telemed.identity.models import Patient, Role, User
from telemed.identity.permissions import can_act_for_patient

PATIENT_SERVICE_CLASSES = {"outpatient", "home_visit", "training"}
NOSHOW_WINDOW_DAYS = 180


def _settings() -> SchedulingSettings:
    return get_settings().scheduling


def get_slot(*, session: Session, slot_id: uuid.UUID) -> Slot:
    slot = get_or_404(session, Slot, slot_id, "slot")
    return slot


def get_booking(*, session: Session, booking_id: uuid.UUID) -> Booking:
    """A booking by id (no authorization: callers decide who may see it)."""
    booking = get_or_404(session, Booking, booking_id, "booking")
    return booking


def slot_of(*, session: Session, booking: Booking) -> Slot:
    """The slot of a booking."""
    return get_slot(session=session, slot_id=booking.slot_id)


def can_see_booking(*, session: Session, user: User, booking: Booking) -> bool:
    """Booker, the patient, the specialist, staff of the slot's institution, admins."""
    if user.role == Role.ADMIN or user.id in (booking.booked_by_id, booking.specialist_id):
        return True
    if user.role == Role.PATIENT:
        return booking.patient_id is not None and user.patient_id == booking.patient_id
    return (
        user.role == Role.COORDINATOR
        and user.institution_id == booking.institution_id
        or (user.institution_id == booking.institution_id and user.role == Role.SPECIALIST)
    )


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
    audit.read(
        session,
        user,
        object_type="booking",
        object_id=booking.id,
        patient_ids=[booking.patient_id],
        what=what,
    )
    return booking


def _audit(
    session: Session,
    by: User | None,
    action: str,
    booking: Booking,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit row of a change of a booking, naming its patient."""
    audit.record(
        session=session,
        by=by,
        actor_role=None if by else "system",
        action=action,
        object_type="booking",
        object_id=booking.id,
        patient_id=booking.patient_id,
        detail={"status": booking.status, **(detail or {})},
        at=now,
    )


def _audited(
    session: Session, by: User, action: str, pending: _Pending, got: Booking, now: datetime
) -> Booking:
    """Audit what a hold or booking request did: the change, or (a replay of an earlier
    request with the same key) the read of the booking it answers with."""
    if pending.replayed or got.id != pending.booking.id:
        audit.read(
            session, by, object_type="booking", object_id=got.id, patient_ids=[got.patient_id]
        )
    else:
        _audit(session, by, action, got, now=now)
    return got


def _lock_slot(session: Session, slot_id: uuid.UUID) -> Slot:
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


def _release(session: Session, slot: Slot, booking: Booking) -> None:
    """Give a booking's place back to its (locked) slot."""
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
    return len(rows)


def _settle_offer(session: Session, hold: Booking, action: str) -> None:
    """The waitlist request a hold was offered to follows the hold (accept / leave)."""
    if hold.waitlist_entry_id is None:
        return
    entry = session.get(WaitlistEntry, hold.waitlist_entry_id, with_for_update=True)
    if entry is not None and entry.status == "offered":
        entry.status = WAITLIST.next(entry.status, action)


def _set_status(
    booking: Booking, action: str, *, by: User | None, now: datetime, reason: str = ""
) -> None:
    booking.status = BOOKING.next(booking.status, action)
    booking.status_changed_at = now
    booking.status_changed_by_id = by.id if by else None
    booking.status_reason = reason[:200]
    if booking.status != BookingStatus.PENDING:
        booking.hold_expires_at = None


def _resolve_patient(session: Session, by: User, patient_id: uuid.UUID | None) -> uuid.UUID | None:
    """Who the booking is for, refusing what the booker may not do (403/404)."""
    if by.role == Role.PATIENT:
        if patient_id is not None and patient_id != by.patient_id:
            raise Forbidden("patients book only for themselves", code="not_your_patient")
        return by.patient_id
    if patient_id is None:
        return None
    patient = get_or_404(session, Patient, patient_id, "patient")
    if not can_act_for_patient(session, by, patient):
        raise Forbidden(
            "your role does not allow booking for this patient", code="not_your_patient"
        )
    return patient_id


def _check_noshow_policy(
    session: Session, by: User, patient_id: uuid.UUID | None, now: datetime
) -> None:
    if by.role != Role.PATIENT or patient_id is None:
        return
    limit = _settings().noshow_limit
    count = session.execute(
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.patient_id == patient_id,
            Booking.status == BookingStatus.NOSHOW,
            col(Booking.start_at) > now - timedelta(days=NOSHOW_WINDOW_DAYS),
        )
    ).scalar_one()
    if limit and count >= limit:
        raise Forbidden(
            f"{count} missed appointments in {NOSHOW_WINDOW_DAYS} days: online booking is "
            "suspended; please book through your doctor",
            code="noshow_limit",
        )


def _reserve(
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
) -> _Pending:
    """Check and prepare a new booking or hold for a slot; the caller then calls
    `_take_place` last.

    The result says whether the booking may use reserved capacity, and whether it is the
    replay of an earlier request with the same idempotency `key` (then nothing was written
    and the caller returns it as it is). The place itself is taken by `_take_place` as the
    last statement of the transaction, so the slot's row lock is held only until the
    commit that follows (short lock under a booking rush). With `defer` on PostgreSQL the
    claim and the booking row are not written here: `_take_place` writes them in the same
    statement as the place (see `scheduling.placement`).
    """
    booking_id = booking_id or uuid7()
    hinted = (by.patient_id if by.role == Role.PATIENT else patient_id) or by.id
    row = session.execute(
        _slot_state_statement(),
        {"slot_id": slot_id, "person": hinted, "now": now, "key": key or ""},
    ).first()
    if row is None:
        raise NotFound(f"slot {slot_id} not found")
    slot, has_overlap, has_expired, stored_hash, stored_response = row
    if key and stored_hash is not None:
        idempotency.verify_replay(stored_hash=stored_hash, payload=payload)
        return _Pending(_replay(session, stored_response), replayed=True)
    patient_id = _resolve_patient(session, by, patient_id)
    _check_noshow_policy(session, by, patient_id, now)
    person = patient_id or by.id
    if slot.status != "active":
        raise Conflict("this slot was withdrawn from the schedule", code="slot_withdrawn")
    if slot.start_at <= now:
        raise Invalid("this slot is in the past", field="slot_id", code="slot_in_past")
    if by.role == Role.PATIENT and slot.service_class not in PATIENT_SERVICE_CLASSES:
        raise Forbidden(
            f"patients cannot book {slot.service_class} slots", code="service_class_not_allowed"
        )
    want_reserved = (
        slot.reserved > 0 and now < slot.release_at and _eligible(session, by, patient_id)
    )
    if not has_expired and not (
        (want_reserved and _has_room(slot, now, reserved=True))
        or _has_room(slot, now, reserved=False)
    ):
        # Refused early on the committed state just read (nothing written); when there
        # may be room, the atomic UPDATE in `_take_place` is what decides.
        raise Conflict("this slot is fully booked", code="slot_full", slot_id=str(slot.id))
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
                return _Pending(_replay(session, previous.response), replayed=True)
    minutes = hold_minutes if hold_minutes is not None else _settings().hold_minutes
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
    pending = _Pending(booking, want_reserved, claim=claim, key=key, payload=payload)
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
class _Pending:
    """A booking prepared by `_reserve`, for `_take_place`."""

    booking: Booking
    want_reserved: bool = False  # may use family-doctor reserved capacity
    replayed: bool = False  # an earlier request's booking, returned as it is
    # PostgreSQL fast path: the booking, its notifications and the key's claim are written
    # by `_take_place` in one statement with the place (not yet in the session).
    deferred: bool = False
    claim: dict[str, Any] | None = None
    key: str | None = None
    payload: dict[str, Any] | None = None
    notes: list[Notification] = field(default_factory=list)


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
        release_expired_holds(session=session, slot=_lock_slot(session, other.slot_id), now=now)


@lru_cache(maxsize=1)
def _slot_state_statement() -> Any:
    """One round trip for a booking: the slot, whether the person has an overlapping active
    booking, whether the slot has expired holds (which still count until released), and an
    earlier use of the idempotency key. Built once (the hot path of a booking rush)."""
    overlap = exists().where(
        col(Booking.person_id) == bindparam("person"),
        col(Booking.status).in_(ACTIVE_STATUSES),
        col(Booking.start_at) < Slot.end_at,
        col(Booking.end_at) > Slot.start_at,
    )
    expired = exists().where(
        col(Booking.slot_id) == Slot.id,
        col(Booking.status) == BookingStatus.PENDING,
        col(Booking.hold_expires_at) <= bindparam("now", type_=UTCDateTime()),
    )
    earlier_hash, earlier_response = idempotency.earlier_use(bindparam("key"))
    return (
        sa_select(  # sqlmodel's select() types at most four columns
            Slot,
            overlap.label("overlap"),
            expired.label("expired"),
            earlier_hash.label("earlier_hash"),
            earlier_response.label("earlier_response"),
        )
        .where(col(Slot.id) == bindparam("slot_id"))
        .execution_options(populate_existing=True)  # the committed counters, not a stale copy
    )


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


def _take_place(session: Session, pending: _Pending, now: datetime) -> Booking:
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
        )
        if not claimed:
            assert pending.key is not None
            previous = idempotency.earlier_record(
                session=session, key=pending.key, payload=pending.payload
            )
            return _replay(session, previous.response)
        if taken:
            make_transient_to_detached(booking)  # written above: persistent, not re-inserted
            session.add(booking)
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
            slot = _lock_slot(session, booking.slot_id)
            if release_expired_holds(session=session, slot=slot, now=now) == 0:
                break
        else:
            break
    raise Conflict("this slot is fully booked", code="slot_full", slot_id=str(booking.slot_id))


def _integrity_conflict(exc: IntegrityError) -> Conflict:
    message = str(exc.orig)
    if "person_overlap" in message:
        return Conflict(
            "this person already has an appointment at that time", code="person_overlap"
        )
    if "booked_within_capacity" in message or "reserved_booked" in message:
        return Conflict("this slot is fully booked", code="slot_full")
    return Conflict("the booking conflicts with existing data", code="booking_conflict")


def _idempotent(
    session: Session,
    *,
    scope: str,
    by: User,
    key: str | None,
    payload: dict[str, Any],
    now: datetime,
    booking_id: uuid.UUID | None = None,
) -> tuple[str | None, Booking | None]:
    """Claim the key; with `booking_id` the outcome is recorded in the same statement."""
    if not key:
        return None, None
    scoped = idempotency.scoped_key(scope=scope, user_id=by.id, key=key)
    outcome = {"booking_id": str(booking_id)} if booking_id is not None else None
    previous = idempotency.claim(
        session=session,
        key=scoped,
        payload=payload,
        now=now,
        status_code=201 if outcome else 0,
        response=outcome,
    )
    if previous is None:
        return scoped, None
    return scoped, _replay(session, previous.response)


def _scoped(key: str | None, scope: str, by: User) -> str | None:
    return idempotency.scoped_key(scope=scope, user_id=by.id, key=key) if key else None


def _replay(session: Session, response: dict[str, Any] | None) -> Booking:
    """The booking an earlier request with the same idempotency key created."""
    booking_id = (response or {}).get("booking_id")
    if not booking_id:
        raise Conflict("the first request with this key is still running", code="idempotency_busy")
    return get_booking(session=session, booking_id=uuid.UUID(booking_id))


def _notify(
    session: Session,
    booking: Booking,
    *,
    kind: str,
    title: str,
    body: str,
    now: datetime,
    into: _Pending | None = None,
) -> None:
    """Outbox rows for the booking's holders and its patient's SMS (with `into` deferred:
    kept for its write)."""
    rows = booking_notes(
        session,
        booking,
        kind=kind,
        title=title,
        body=body,
        data={"booking_id": str(booking.id), "slot_id": str(booking.slot_id)},
        now=now,
    )
    if into is not None and into.deferred:
        into.notes.extend(rows)
    else:
        session.add_all(rows)


def _when(booking: Booking) -> str:
    return f"{to_shanghai(booking.start_at):%Y-%m-%d %H:%M}"


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
    scoped = _scoped(idempotency_key, "scheduling.hold", by)
    try:
        with _atomic(session, atomic):
            pending = _reserve(
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
            # audited after the place is taken: a lost idempotency race answers a replay
            return _audited(session, by, "hold", pending, _take_place(session, pending, now), now)
    except IntegrityError as exc:
        raise _integrity_conflict(exc) from None


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
            pending: _Pending | None = None
            if hold_id is not None:
                _, previous = _idempotent(
                    session,
                    scope="scheduling.book",
                    by=by,
                    key=idempotency_key,
                    payload=payload,
                    now=now,
                    booking_id=hold_id,  # confirming keeps the hold's id
                )
                if previous is not None:
                    audit.read(
                        session,
                        by,
                        object_type="booking",
                        object_id=previous.id,
                        patient_ids=[previous.patient_id],
                    )
                    return previous
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
                pending = _reserve(
                    session,
                    slot_id=slot_id,
                    by=by,
                    patient_id=patient_id,
                    now=now,
                    status=BookingStatus.BOOKED,
                    reference_type=reference_type,
                    reference_id=reference_id,
                    key=_scoped(idempotency_key, "scheduling.book", by),
                    payload=payload,
                    defer=True,
                )
                if pending.replayed:
                    return _audited(session, by, "book", pending, pending.booking, now)
                booking = pending.booking
            _notify(
                session,
                booking,
                kind="booking.confirmed",
                title="预约成功 Appointment confirmed",
                body=f"{_when(booking)} 预约已确认。",
                now=now,
                into=pending,
            )
            if pending is not None:
                taken = _take_place(session, pending, now)  # last: short slot lock
                return _audited(session, by, "book", pending, taken, now)
            _audit(session, by, "book", booking, now=now, detail={"hold_id": str(hold_id)})
            return booking
    except IntegrityError as exc:
        raise _integrity_conflict(exc) from None


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
    _settle_offer(session, hold, "accept")
    session.flush()
    return hold


def _may_manage(session: Session, user: User, booking: Booking) -> bool:
    """Staff who run the slot: its specialist, coordinators of its institution, admins."""
    if user.role == Role.ADMIN or user.id == booking.specialist_id:
        return True
    return user.role in (Role.COORDINATOR, Role.SPECIALIST, Role.COUNTY_DOCTOR) and (
        user.institution_id == booking.institution_id
    )


def cancel_booking(
    *, session: Session, booking_id: uuid.UUID, by: User, now: datetime, reason: str
) -> Booking:
    """Cancel a booking or hold, free its place, notify, and offer it to the waitlist."""
    # Function-level: scheduling.waitlist imports this module (an offer takes a place here;
    # leaving the waitlist cancels the offered hold here).
    from scheduling.waitlist import offer_waitlist

    with session.begin_nested():
        booking = visible_booking(session=session, user=by, booking_id=booking_id)
        slot = _lock_slot(session, booking.slot_id)
        session.refresh(booking)
        if by.role == Role.PATIENT and booking.status == BookingStatus.BOOKED:
            limit = timedelta(hours=_settings().patient_cancel_hours_before)
            if booking.start_at - now < limit:
                raise Conflict(
                    f"appointments can be cancelled online up to {limit} before the start",
                    code="too_late_to_cancel",
                )
        was_hold = booking.status == BookingStatus.PENDING
        _set_status(booking, "cancel", by=by, now=now, reason=reason)
        _settle_offer(session, booking, "leave")  # declining an offer ends the request
        session.flush()
        _release(session, slot, booking)
        if not was_hold:
            _notify(
                session,
                booking,
                kind="booking.cancelled",
                title="预约已取消 Appointment cancelled",
                body=f"{_when(booking)} 的预约已取消。{reason}".strip(),
                now=now,
            )
        _audit(session, by, "cancel", booking, now=now, detail={"reason": reason[:200]})
        if slot.status == "active" and slot.start_at > now:
            offer_waitlist(session=session, slot=slot, now=now)
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
    from scheduling.waitlist import offer_waitlist  # function-level: see cancel_booking

    payload = {"booking_id": str(booking_id), "slot_id": str(new_slot_id)}
    new_id = uuid7()
    try:
        with session.begin_nested():
            _, previous = _idempotent(
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
            old_slot = _lock_slot(session, old.slot_id)
            session.refresh(old)
            _set_status(old, "cancel", by=by, now=now, reason=reason or "rescheduled")
            session.flush()
            _release(session, old_slot, old)
            pending = _reserve(
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
            _take_place(session, pending, now)
            _audit(session, by, "cancel", old, now=now, detail={"rescheduled_to": str(new.id)})
            _audit(session, by, "reschedule", new, now=now, detail={"from": str(old.id)})
            _notify(
                session,
                new,
                kind="booking.changed",
                title="预约已改期 Appointment changed",
                body=f"预约由 {_when(old)} 改至 {_when(new)}。",
                now=now,
            )
            session.flush()
            if old_slot.status == "active" and old_slot.start_at > now:
                offer_waitlist(session=session, slot=old_slot, now=now)
            return new
    except IntegrityError as exc:
        raise _integrity_conflict(exc) from None


def mark(
    *, session: Session, booking_id: uuid.UUID, action: str, by: User, now: datetime
) -> Booking:
    """Arrive, fulfil or noshow: done by the staff running the slot."""
    booking = visible_booking(session=session, user=by, booking_id=booking_id)
    if not _may_manage(session, by, booking):
        raise Forbidden("only the staff running this slot may record attendance")
    if action == "noshow" and booking.start_at > now:
        raise Conflict("a no-show is recorded only after the start time", code="too_early")
    _set_status(booking, action, by=by, now=now)
    _audit(session, by, action, booking, now=now)
    session.flush()
    return booking


def bookings_for(
    *, session: Session, user: User, limit: int = 50, offset: int = 0
) -> list[Booking]:
    """The user's own bookings (as booker or patient), newest slot first."""
    rows, _ = bookings_page(session=session, user=user, limit=limit, offset=offset, count=False)
    return rows


def bookings_page(
    *,
    session: Session,
    user: User,
    limit: int = 50,
    offset: int = 0,
    patient_id: uuid.UUID | None = None,
    statuses: list[str] | None = None,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
    count: bool = True,
) -> tuple[list[Booking], int | None]:
    """One page of the user's own bookings (as booker or patient), newest slot first,
    optionally narrowed; with the total when `count`. The read audited."""
    cond = col(Booking.booked_by_id) == user.id
    if user.patient_id is not None:
        cond = cond | (col(Booking.patient_id) == user.patient_id)
    stmt = select(Booking).where(cond)
    if patient_id is not None:
        stmt = stmt.where(col(Booking.patient_id) == patient_id)
    if statuses is not None:
        stmt = stmt.where(col(Booking.status).in_(statuses))
    if start_from is not None:
        stmt = stmt.where(col(Booking.start_at) >= start_from)
    if start_to is not None:
        stmt = stmt.where(col(Booking.start_at) < start_to)
    total = (
        int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
        if count
        else None
    )
    stmt = stmt.order_by(col(Booking.start_at).desc(), col(Booking.id)).limit(limit).offset(offset)
    rows = list(session.execute(stmt).scalars())
    audit.read(
        session,
        user,
        object_type="booking",
        patient_ids=[b.patient_id for b in rows],
        object_ids=[b.id for b in rows],
    )
    return rows, total


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
        _notify(
            session,
            b,
            kind="booking.reminder",
            title="就诊提醒 Appointment reminder",
            body=f"您明天 {_when(b)} 有预约。",
            now=now,
        )
    session.flush()
    return len(rows)
