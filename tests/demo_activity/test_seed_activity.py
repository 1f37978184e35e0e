"""Demo activity: 30 days of consultations and referrals made by the services, shown by the
network dashboard; deterministic, idempotent, and on the embedded SQLite of `make run`."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from referrals.models import Referral
from telemed.consultations.models import Consultation, SlaBreach
from telemed.core.db import make_engine
from telemed.core.settings import get_settings
from telemed.dashboard.service import network_dashboard
from telemed.dashboard.utilization import iso_week, utilization
from telemed.demo_activity import has_activity, seed_activity
from tests.support.sqlite_runs import Built, cli, development_env

API = "/api/v1/dashboard/network"


def _count(session: Session, model: Any) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_the_dashboard_shows_a_month_of_activity_across_the_leagues(
    activity: dict[str, Any], session: Session, client: TestClient, login: Any, clock: Any
) -> None:
    assert not activity["had_activity"]
    made = activity["made"]  # seed_activity(now=clock.at) on the demo-seeded database
    assert made["consultations"] > 100 and made["referrals"] > 50
    assert has_activity(session, get_settings())

    body = client.get(API, headers=login("coordinator")).json()
    busy = [lg for lg in body["leagues"] if lg["consultations"] and lg["referrals"]]
    assert len(busy) >= 6
    totals = body["totals"]
    assert totals["consultations"] >= 100
    assert 0 < totals["sla_compliance"] < 1
    assert totals["accept_breaches"] > 0 and totals["report_breaches"] > 0
    states = totals["consultations_by_state"]
    assert states["closed"] > states.get("reported", 0) > 0
    assert states.get("declined", 0) and states.get("cancelled", 0)
    assert sum(states.get(s, 0) for s in ("submitted", "accepted", "in_session")) > 0
    assert totals["referrals_up"] > totals["referrals_down"] > 0
    assert 0 < totals["closure_rate"] <= 1
    by_status = dict(
        session.execute(
            select(Referral.status, func.count()).group_by(Referral.status)  # type: ignore[arg-type]
        ).all()
    )
    assert by_status.get("rejected", 0) > 0 and by_status.get("closed", 0) > 0
    # most days of the month have requests
    assert sum(1 for d in body["days"] if d["consultations"]) >= 20
    assert client.get(API, headers=login("admin")).json()["totals"] == totals

    # a second run adds nothing
    before = (_count(session, Consultation), _count(session, Referral), _count(session, SlaBreach))
    again = seed_activity(session, get_settings(), now=clock.at)
    assert again == {"consultations": 0, "referrals": 0, "patients": 0, "bookings": 0}
    after = (_count(session, Consultation), _count(session, Referral), _count(session, SlaBreach))
    assert after == before
    assert client.get(API, headers=login("coordinator")).json()["totals"] == totals


def test_the_activity_is_replayed_in_the_past_with_real_deadlines(
    session: Session, clock: Any
) -> None:
    # `session` holds what seed_activity(now=clock.at) replayed
    rows = session.execute(select(Consultation)).scalars().all()
    assert all(c.created_at <= clock.at for c in rows)
    reported = [c for c in rows if c.reported_at is not None]
    late = [c for c in reported if c.report_due_at and c.reported_at > c.report_due_at]
    assert late and len(late) < len(reported) / 3
    breaches = session.execute(select(SlaBreach)).scalars().all()
    # the sweep noticed each missed deadline within a minute or two, as the real one does
    assert all(0 <= (b.detected_at - b.due_at).total_seconds() <= 120 for b in breaches)


def test_make_run_seed_on_sqlite_adds_activity_once_and_can_skip_it(
    sqlite_demo: Built, tmp_path: Path
) -> None:
    # The run's fresh SQLite, built once by `db upgrade`, `seed --demo --no-activity`,
    # `seed --demo` (tests/conftest.py): each command's answer, and the database after it.
    assert sqlite_demo.result("migrated").returncode == 0
    skipped = sqlite_demo.result("accounts")
    assert skipped.returncode == 0, skipped.stderr
    assert "consultations" not in skipped.stdout

    def counts(db: Path) -> tuple[int, int]:
        with closing(sqlite3.connect(db)) as conn:
            c = conn.execute("select count(*) from consultation").fetchone()[0]
            r = conn.execute("select count(*) from referral").fetchone()[0]
        return int(c), int(r)

    assert counts(sqlite_demo.path("accounts")) == (0, 0)
    first = sqlite_demo.result("demo")
    assert first.returncode == 0, first.stderr
    made = re.search(r"'consultations': (\d+), 'referrals': (\d+)", first.stdout)
    assert made is not None, first.stdout
    db = sqlite_demo.copy("demo", tmp_path / "telemed.db")
    assert counts(db) == (int(made[1]), int(made[2]))
    assert int(made[1]) > 100 and int(made[2]) > 50
    with sqlite3.connect(db) as conn:
        directions = dict(conn.execute("select direction, count(*) from referral group by 1"))
        states = dict(conn.execute("select state, count(*) from consultation group by 1"))
    assert directions["up"] > directions["down"] > 0
    assert states["closed"] > 0 and states.get("declined", 0) > 0

    second = cli("seed", "--demo", env=development_env(db))
    assert second.returncode == 0, second.stderr
    assert "'consultations': 0, 'referrals': 0" in second.stdout
    assert counts(db) == (int(made[1]), int(made[2]))

    # The coordinators' dashboard works on this database too: its per-day series (days in
    # Asia/Shanghai, computed in SQL) adds up to the range's totals.
    engine = make_engine(f"sqlite:///{db}")
    try:
        with Session(engine) as s:
            board = network_dashboard(session=s, now=datetime.now(UTC))
            usage = utilization(session=s, now=datetime.now(UTC))
    finally:
        engine.dispose()
    assert board.totals.consultations > 100 and board.totals.referrals > 50
    assert sum(d.consultations for d in board.days) == board.totals.consultations
    assert sum(d.referrals for d in board.days) == board.totals.referrals
    assert sum(1 for league in board.leagues if league.consultations) >= 6

    # Utilization too: ISO weeks (Mondays in Shanghai) and medians by window functions in SQL.
    assert usage.totals.booked > 0 and usage.totals.used > 0 and usage.overloaded
    assert all(r.week_start.weekday() == 0 and r.week == iso_week(r.week_start) for r in usage.rows)
    assert any(r.median_accept_minutes for r in usage.rows)
    with sqlite3.connect(db) as conn:
        statuses = dict(conn.execute("select status, count(*) from scheduling_booking group by 1"))
    assert statuses["fulfilled"] > 0 and statuses["noshow"] > 0


def _states(session: Session) -> list[Any]:
    return sorted(
        session.execute(
            select(Consultation.state, func.count()).group_by(Consultation.state)  # type: ignore[arg-type]
        ).all()
    )


@pytest.mark.timeout(600)  # a replay of its own, besides waiting for the run's
def test_the_activity_is_deterministic(
    session: Session, fresh_session: Session, clock: Any
) -> None:
    now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert clock.at == now  # `session` was replayed at this instant
    states = _states(session)
    seed_activity(fresh_session, get_settings(), now=now)  # the same replay, once more
    again = _states(fresh_session)
    assert again == states
