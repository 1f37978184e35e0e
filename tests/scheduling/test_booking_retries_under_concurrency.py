"""A patient's retries during a rush never make two bookings: the same request sent
again and again at once, with its Idempotency-Key and without, from separate
connections, leaves one booking (the replays answer with it, the rest 409)."""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduling import service
from scheduling.models import Booking, Slot
from telemed.core.errors import Conflict
from telemed.identity.models import Patient, Role, User


def _patient_and_slot(engine: Engine) -> tuple[uuid.UUID, uuid.UUID]:
    now = datetime.now(UTC)
    with Session(engine) as s:
        star = s.execute(select(User).where(User.username == "specialist")).scalar_one()
        serial = uuid.uuid4().hex
        patient = Patient(
            name="重试",
            sex="female",
            birth_date=date(1980, 1, 1),
            resident_id_hash=hashlib.sha256(serial.encode()).hexdigest(),
            resident_id_masked="1501**********0000",
            created_at=now,
        )
        s.add(patient)
        s.flush()
        user = User(
            username=f"retry-{serial[:10]}",
            password_hash="x",
            role=Role.PATIENT,
            full_name="重试",
            patient_id=patient.id,
            created_at=now,
        )
        start = now.replace(microsecond=0) + timedelta(days=40, minutes=int(serial[:4], 16) % 900)
        slot = Slot(
            institution_id=star.institution_id,
            specialist_id=star.id,
            specialty_code="cardiology",
            service_class="outpatient",
            league_code="150100",
            tier="regional",
            institution_name="retry",
            specialist_name=star.full_name,
            start_at=start,
            end_at=start + timedelta(minutes=30),
            capacity=10,
            release_at=now,
            created_at=now,
        )
        s.add_all([user, slot])
        s.commit()
        return user.id, slot.id


def test_retries_with_and_without_the_key_book_once(committed_engine: Engine) -> None:
    user_id, slot_id = _patient_and_slot(committed_engine)
    key = uuid.uuid4().hex
    keys = [key] * 4 + [None] * 4  # the app's retries (same key) and a reload (none)
    barrier = threading.Barrier(len(keys))
    got: list[object] = []
    lock = threading.Lock()

    def attempt(k: str | None) -> None:
        with Session(committed_engine, expire_on_commit=False) as s:
            user = s.get(User, user_id)
            barrier.wait(timeout=30)
            try:
                b = service.book(
                    session=s,
                    slot_id=slot_id,
                    by=user,  # type: ignore[arg-type]
                    patient_id=None,
                    now=datetime.now(UTC),
                    idempotency_key=k,
                    atomic=False,
                )
                s.commit()
                outcome: object = ("booked", k, b.id)
            except Conflict as exc:
                s.rollback()
                outcome = ("conflict", k, exc.code)
            with lock:
                got.append(outcome)

    threads = [threading.Thread(target=attempt, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(got) == len(keys)
    with Session(committed_engine) as s:
        patient_id = s.get(User, user_id).patient_id  # type: ignore[union-attr]
        active = (
            s.execute(
                select(Booking).where(
                    col(Booking.patient_id) == patient_id, col(Booking.status) == "booked"
                )
            )
            .scalars()
            .all()
        )
        slot = s.get(Slot, slot_id)
    assert len(active) == 1 and slot is not None and slot.booked == 1
    booked = [o for o in got if o[0] == "booked"]  # type: ignore[index]
    # every success names the one booking (a replay of the key answers with it) ...
    assert {o[2] for o in booked} == {active[0].id}  # type: ignore[index]
    # ... and every other attempt was told why: the person already has it, or the key's
    # first request was still running
    refused = {o[2] for o in got if o[0] == "conflict"}  # type: ignore[index]
    assert refused <= {"person_overlap", "idempotency_busy", "idempotency_conflict"}, refused
