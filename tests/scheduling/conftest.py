"""Helpers for scheduling tests: fresh doctors and rules on the demo network."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, time

import pytest
from sqlmodel import Session, select

from scheduling import service
from scheduling.models import ScheduleRule, Slot
from scheduling.schemas import RuleCreate
from telemed.core import clock as core_clock
from telemed.identity.models import Patient, Role, User


def user_named(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


@pytest.fixture
def new_doctor(session: Session) -> Callable[..., User]:
    """A fresh specialist (no demo rules) at the coordinator's hospital."""

    def _make(role: Role = Role.SPECIALIST, specialty: str = "cardiology") -> User:
        coord = user_named(session, "coordinator")
        u = User(
            username=f"t-{uuid.uuid4().hex[:10]}",
            password_hash="x",
            role=role,
            full_name="测试医生",
            institution_id=coord.institution_id,
            specialty_code=specialty,
            title="chief_physician",
            created_at=core_clock.now(),
        )
        session.add(u)
        session.flush()
        return u

    return _make


@pytest.fixture
def make_rule(session: Session, new_doctor: Callable[..., User]) -> Callable[..., ScheduleRule]:
    def _make(**kw: object) -> ScheduleRule:
        doc = kw.pop("specialist", None) or new_doctor()
        data = {
            "specialist_id": doc.id,  # type: ignore[attr-defined]
            "weekdays": [0, 1, 2, 3, 4],
            "start_time": time(8, 0),
            "end_time": time(9, 0),
            "slot_minutes": 30,
            "capacity": 1,
            "service_class": "outpatient",
        }
        data.update(kw)
        return service.create_rule(
            session=session,
            data=RuleCreate(**data),  # type: ignore[arg-type]
            by=user_named(session, "coordinator"),
            now=core_clock.now(),
        )

    return _make


def slots_of(session: Session, rule: ScheduleRule) -> list[Slot]:
    return list(
        session.execute(
            select(Slot).where(Slot.rule_id == rule.id).order_by(Slot.start_at)  # type: ignore[arg-type]
        ).scalars()
    )


def demo_patient(session: Session) -> Patient:
    return session.get(Patient, user_named(session, "patient").patient_id)  # type: ignore[return-value]


__all__ = ["date", "demo_patient", "slots_of", "user_named"]
