"""Helpers for payment tests: a priced outpatient booking of the demo patient, a fresh
sandbox provider per test, and notices signed by it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta

import pytest
from sqlmodel import Session, select

from scheduling import service as scheduling_service
from scheduling.models import Booking, Slot
from scheduling.schemas import RuleCreate
from telemed.core import clock as core_clock
from telemed.identity.models import Patient, Role, User
from telemed.payments import providers
from telemed.payments.sandbox import SandboxProvider, sandbox_key


def user_named(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


def fresh_doctor(session: Session, institution_id: uuid.UUID | None, now: datetime) -> User:
    """A specialist with no rules yet, at `institution_id`."""
    doctor = User(
        username=f"t-{uuid.uuid4().hex[:10]}",
        password_hash="x",
        role=Role.SPECIALIST,
        full_name="测试医生",
        institution_id=institution_id,
        specialty_code="cardiology",
        title="chief_physician",
        created_at=now,
    )
    session.add(doctor)
    session.flush()
    return doctor


@pytest.fixture
def sandbox() -> Iterator[SandboxProvider]:
    """A sandbox of this test alone (its memory starts empty)."""
    p = SandboxProvider(key=sandbox_key("test-secret-key-not-for-production"), base_url="")
    providers.set_provider("sandbox", p)
    yield p
    providers.set_provider("sandbox", None)


@pytest.fixture
def priced_slots(session: Session, clock) -> list[Slot]:  # type: ignore[no-untyped-def]
    """Outpatient slots (capacity 2) of a fresh doctor at the coordinator's hospital, a few
    days ahead; the demo fee schedule prices them."""
    coord = user_named(session, "coordinator")
    doctor = fresh_doctor(session, coord.institution_id, core_clock.now())
    rule = scheduling_service.create_rule(
        session=session,
        data=RuleCreate(
            specialist_id=doctor.id,
            weekdays=[0, 1, 2, 3, 4],
            start_time=time(8, 0),
            end_time=time(10, 0),
            slot_minutes=30,
            capacity=2,
            service_class="outpatient",
        ),
        by=coord,
        now=core_clock.now(),
    )
    later = core_clock.now() + timedelta(days=3)
    return list(
        session.execute(
            select(Slot)
            .where(Slot.rule_id == rule.id, Slot.start_at > later)  # type: ignore[arg-type]
            .order_by(Slot.start_at)  # type: ignore[arg-type]
        ).scalars()
    )


@pytest.fixture
def book(session: Session, priced_slots: list[Slot]) -> Callable[..., Booking]:
    """Book the n-th priced slot as `username` (the demo patient by default)."""

    def _book(n: int = 0, username: str = "patient") -> Booking:
        return scheduling_service.book(
            session=session,
            slot_id=priced_slots[n].id,
            by=user_named(session, username),
            patient_id=None,
            now=core_clock.now(),
        )

    return _book


def demo_patient(session: Session) -> Patient:
    p = session.get(Patient, user_named(session, "patient").patient_id)
    assert p is not None
    return p


@pytest.fixture
def other_patient(session: Session) -> str:
    """Another patient's account (password telemed-demo); returns its username."""
    from datetime import date

    from telemed.identity.security import hash_password

    now = core_clock.now()
    p = Patient(
        name="其他患者",
        sex="female",
        birth_date=date(1980, 1, 1),
        resident_id_hash=uuid.uuid4().hex,
        resident_id_masked="1501**********0000",
        created_at=now,
    )
    session.add(p)
    session.flush()
    name = f"p-{uuid.uuid4().hex[:8]}"
    session.add(
        User(
            username=name,
            password_hash=hash_password("telemed-demo"),
            role=Role.PATIENT,
            full_name="其他患者",
            patient_id=p.id,
            created_at=now,
        )
    )
    session.flush()
    return name
