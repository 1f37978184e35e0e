"""Many simultaneous bookings from separate connections at one slot: exact successes."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduling import service
from scheduling.models import Booking, Slot
from telemed.core.errors import Conflict
from telemed.core.notifications import Notification
from telemed.identity.models import Role, User


def _fire(engine: Engine, slot_id: uuid.UUID, users: list[uuid.UUID]) -> tuple[int, int, list]:  # type: ignore[type-arg]
    barrier = threading.Barrier(len(users))
    ok, full, errors = [0], [0], []
    lock = threading.Lock()
    now = datetime.now(UTC)

    def run(uid: uuid.UUID) -> None:
        with Session(engine, expire_on_commit=False) as s:
            user = s.get(User, uid)
            assert user is not None
            barrier.wait(timeout=30)
            try:
                service.book(session=s, slot_id=slot_id, by=user, patient_id=None, now=now)
                s.commit()
                with lock:
                    ok[0] += 1
            except Conflict as exc:
                s.rollback()
                with lock:
                    if exc.code == "slot_full":
                        full[0] += 1
                    else:
                        errors.append(exc.code)
            except Exception as exc:
                s.rollback()
                with lock:
                    errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return ok[0], full[0], errors


def test_booking_never_exceeds_capacity_under_concurrency(committed_engine: Engine):
    n = 16
    with Session(committed_engine) as s:
        coord = s.execute(select(User).where(User.username == "coordinator")).scalar_one()
        inst_id = coord.institution_id
        now = datetime.now(UTC)
        users = [
            User(
                username=f"rush-{uuid.uuid4().hex[:10]}",
                password_hash="x",
                role=Role.COUNTY_DOCTOR,
                full_name="rush",
                institution_id=inst_id,
                created_at=now,
            )
            for _ in range(n)
        ]
        s.add_all(users)
        start = now + timedelta(days=3)
        slots = [
            Slot(
                institution_id=inst_id,
                specialty_code="cardiology",
                service_class="consultation",
                league_code="150100",
                tier="regional",
                institution_name="rush test",
                start_at=start + timedelta(hours=i),
                end_at=start + timedelta(hours=i, minutes=30),
                capacity=cap,
                release_at=start,
                created_at=now,
            )
            for i, cap in enumerate((1, 5))
        ]
        s.add_all(slots)
        s.commit()
        user_ids = [u.id for u in users]
        slot_ids = [sl.id for sl in slots]
    try:
        for slot_id, capacity in zip(slot_ids, (1, 5), strict=True):
            ok, full, errors = _fire(committed_engine, slot_id, user_ids)
            assert errors == []
            assert (ok, full) == (capacity, n - capacity)
            with Session(committed_engine) as s:
                slot = s.get(Slot, slot_id)
                assert slot is not None and slot.booked == capacity
                active = s.execute(
                    select(Booking).where(Booking.slot_id == slot_id, Booking.status == "booked")
                ).all()
                assert len(active) == capacity
    finally:
        with Session(committed_engine) as s:
            s.execute(delete(Booking).where(col(Booking.slot_id).in_(slot_ids)))
            s.execute(delete(Notification).where(col(Notification.user_id).in_(user_ids)))
            s.execute(delete(Slot).where(col(Slot.id).in_(slot_ids)))
            s.execute(delete(User).where(col(User.id).in_(user_ids)))
            s.commit()


def test_one_person_never_gets_two_overlapping_bookings_under_concurrency(
    committed_engine: Engine,
):
    """Same person, eight different slots at the same time, at once: exactly one booking."""
    n = 8
    with Session(committed_engine) as s:
        coord = s.execute(select(User).where(User.username == "coordinator")).scalar_one()
        now = datetime.now(UTC)
        person = User(
            username=f"rush-{uuid.uuid4().hex[:10]}",
            password_hash="x",
            role=Role.COUNTY_DOCTOR,
            full_name="rush",
            institution_id=coord.institution_id,
            created_at=now,
        )
        s.add(person)
        start = now + timedelta(days=4)
        slots = [
            Slot(
                institution_id=coord.institution_id,
                specialty_code="cardiology",
                service_class="consultation",
                league_code="150100",
                tier="regional",
                institution_name="rush test",
                start_at=start,
                end_at=start + timedelta(minutes=30),
                capacity=1,
                release_at=start,
                created_at=now,
            )
            for _ in range(n)
        ]
        s.add_all(slots)
        s.commit()
        person_id = person.id
        slot_ids = [sl.id for sl in slots]
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(slot_id: uuid.UUID) -> None:
        with Session(committed_engine) as s:
            user = s.get(User, person_id)
            assert user is not None
            barrier.wait(timeout=30)
            try:
                service.book(session=s, slot_id=slot_id, by=user, patient_id=None, now=now)
                s.commit()
                code = "ok"
            except Conflict as exc:
                s.rollback()
                code = exc.code
            with lock:
                outcomes.append(code)

    threads = [threading.Thread(target=run, args=(sid,)) for sid in slot_ids]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sorted(outcomes) == ["ok"] + ["person_overlap"] * (n - 1)
    finally:
        with Session(committed_engine) as s:
            s.execute(delete(Booking).where(col(Booking.slot_id).in_(slot_ids)))
            s.execute(delete(Notification).where(Notification.user_id == person_id))
            s.execute(delete(Slot).where(col(Slot.id).in_(slot_ids)))
            s.execute(delete(User).where(col(User.id) == person_id))
            s.commit()


def test_check_constraint_refuses_overbooking_even_without_the_service(committed_engine: Engine):
    """The database itself refuses booked > capacity (a bug in Python cannot overbook)."""
    import pytest
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    with Session(committed_engine) as s:
        slot = s.execute(select(Slot).where(Slot.status == "active").limit(1)).scalar_one()
        with pytest.raises(IntegrityError):
            s.execute(update(Slot).where(col(Slot.id) == slot.id).values(booked=slot.capacity + 1))
            s.flush()
        s.rollback()
