"""The embedded default (SQLite) runs the same migrations and booking rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from scheduling import service
from scheduling.models import Slot
from telemed.core.db import make_engine
from telemed.core.errors import Conflict
from telemed.identity.models import Role, User
from telemed.network.models import Institution, League


def test_booking_rules_hold_on_sqlite(tmp_path):
    from telemed.cli import upgrade_database

    url = f"sqlite:///{tmp_path}/embedded.db"
    upgrade_database(url)
    engine = make_engine(url)
    now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    with Session(engine) as s:
        s.add(League(code="150100", name_zh="呼和浩特市", name_en="Hohhot", kind="city"))
        s.flush()
        inst = Institution(
            code="T1", name_zh="测试医院", tier="regional", league_code="150100", in_network=True
        )
        s.add(inst)
        s.flush()
        users = [
            User(
                username=f"u{i}",
                password_hash="x",
                role=Role.COUNTY_DOCTOR,
                full_name="u",
                institution_id=inst.id,
                created_at=now,
            )
            for i in range(3)
        ]
        s.add_all(users)
        start = now + timedelta(days=1)
        a, b = (
            Slot(
                institution_id=inst.id,
                specialty_code="cardiology",
                service_class="consultation",
                league_code="150100",
                tier="regional",
                institution_name="测试医院",
                start_at=start,
                end_at=start + timedelta(minutes=30),
                capacity=1,
                release_at=start,
                created_at=now,
            )
            for _ in range(2)
        )
        s.add_all([a, b])
        s.commit()
        first = service.book(session=s, slot_id=a.id, by=users[0], patient_id=None, now=now)
        assert first.status == "booked"
        with pytest.raises(Conflict) as full:
            service.book(session=s, slot_id=a.id, by=users[1], patient_id=None, now=now)
        assert full.value.code == "slot_full"
        with pytest.raises(Conflict) as overlap:
            service.book(session=s, slot_id=b.id, by=users[0], patient_id=None, now=now)
        assert overlap.value.code == "person_overlap"
        s.commit()
        s.refresh(a)
        s.refresh(b)
        assert (a.booked, b.booked) == (1, 0)
        views = service.search_slots(session=s, viewer=users[2], now=now)
        assert [v.id for v in views] == [b.id]
    engine.dispose()


def test_reminder_job_sends_once(session, clock, make_rule):
    from tests.scheduling.conftest import slots_of, user_named

    slot = slots_of(session, make_rule())[0]
    patient = user_named(session, "patient")
    service.book(session=session, slot_id=slot.id, by=patient, patient_id=None, now=clock())
    clock.at = slot.start_at - timedelta(hours=20)
    assert service.send_reminders(session=session, now=clock()) >= 1
    assert service.send_reminders(session=session, now=clock()) == 0
