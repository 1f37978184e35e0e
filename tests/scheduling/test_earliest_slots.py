"""Each specialist's earliest free slot of a class in one statement (routing proposals),
on PostgreSQL and on the embedded SQLite default."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from scheduling import service
from scheduling.models import Slot
from telemed.core.db import make_engine
from telemed.identity.models import Role, User
from telemed.network.models import Institution, League

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def _slot(inst: Institution, who: User, hours: int, cls: str, **kw: object) -> Slot:
    start = NOW + timedelta(hours=hours)
    data: dict[str, object] = {
        "institution_id": inst.id,
        "specialist_id": who.id,
        "specialty_code": "cardiology",
        "service_class": cls,
        "league_code": inst.league_code,
        "tier": inst.tier,
        "institution_name": inst.name_zh,
        "start_at": start,
        "end_at": start + timedelta(minutes=30),
        "capacity": 1,
        "release_at": start - timedelta(hours=48),
        "created_at": NOW,
        **kw,
    }
    return Slot(**data)  # type: ignore[arg-type]


def _check(session: Session, inst: Institution, make: Callable[[], User]) -> None:
    a, b, c = make(), make(), make()
    want = _slot(inst, a, 30, "consultation")
    session.add_all(
        [
            _slot(inst, a, -1, "consultation"),  # past
            _slot(inst, a, 2, "outpatient"),  # other class
            _slot(inst, a, 3, "consultation", booked=1),  # full
            _slot(inst, a, 4, "consultation", status="withdrawn"),
            # reserved for family-doctor referrals and not released yet: not for this viewer
            _slot(inst, a, 5, "consultation", reserved=1, release_at=NOW + timedelta(days=1)),
            want,
            _slot(inst, a, 40, "consultation"),
            _slot(inst, b, 1, "outpatient"),  # b has no consultation slot
        ]
    )
    session.flush()
    found = service.earliest_slots(
        session=session,
        viewer=None,
        now=NOW,
        specialist_ids=[a.id, b.id, c.id, a.id],
        service_class="consultation",
    )
    assert found == {a.id: (want.id, want.start_at)}
    any_class = service.earliest_slots(session=session, viewer=None, now=NOW, specialist_ids=[b.id])
    assert list(any_class) == [b.id]
    assert service.earliest_slots(session=session, viewer=None, now=NOW, specialist_ids=[]) == {}


def _maker(session: Session, inst: Institution) -> Callable[[], User]:
    def make() -> User:
        u = User(
            username=f"e-{uuid.uuid4().hex[:10]}",
            password_hash="x",
            role=Role.SPECIALIST,
            full_name="测试",
            institution_id=inst.id,
            specialty_code="cardiology",
            created_at=NOW,
        )
        session.add(u)
        session.flush()
        return u

    return make


def test_earliest_free_slot_per_specialist_on_postgresql(session: Session) -> None:
    inst = Institution(
        code=f"E{uuid.uuid4().hex[:6]}",
        name_zh="测试医院",
        tier="regional",
        league_code="150100",
        in_network=True,
    )
    session.add(inst)
    session.flush()
    _check(session, inst, _maker(session, inst))


def test_earliest_free_slot_per_specialist_on_sqlite(tmp_path: Path) -> None:
    from telemed.cli import upgrade_database

    url = f"sqlite:///{tmp_path}/embedded.db"
    upgrade_database(url)
    with Session(make_engine(url)) as s:
        s.add(League(code="150100", name_zh="呼和浩特市", name_en="Hohhot", kind="city"))
        s.flush()
        inst = Institution(
            code="T1", name_zh="测试医院", tier="regional", league_code="150100", in_network=True
        )
        s.add(inst)
        s.flush()
        _check(s, inst, _maker(s, inst))
