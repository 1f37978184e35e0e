"""The job runner (procrastinate on the test PostgreSQL) runs every periodic task, with
the fixed clock, and retries a crashed task without doing its work twice."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from procrastinate.periodic import PeriodicDeferrer
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from telemed.consultations.models import SlaBreach
from telemed.core.notifications import Notification
from telemed.jobs import runner
from telemed.jobs.tasks import PERIODIC, Context
from telemed.video.models import Recording, Room
from tests.jobs.helpers import waitlist_offer_to_patient
from tests.scheduling.conftest import user_named
from tests.support.fake_aliyun_sms import FakeAliyunSms

pytestmark = pytest.mark.usefixtures("empty_queue")


def _run_every_task_once(ctx: Context, tasks: list[str] | None = None) -> None:
    """Defer one run of each periodic task (as the periodic deferrer does at a tick) and
    run a worker until the queue is empty."""
    # Deferred here for one fixed tick, not by the wall clock's schedule.
    app = runner.build_app(ctx.settings, schedule=False)
    names = tasks or [t.name for t in PERIODIC]
    ctx.settings.jobs.concurrency = 1  # the tasks share the test's one connection

    async def go() -> None:
        async with app.open_async():
            for name in names:
                await app.tasks[name].defer_async(timestamp=1_764_547_200)
            await app.run_worker_async(
                **runner.worker_options(
                    ctx, wait=False, install_signal_handlers=False, listen_notify=False
                )
            )

    asyncio.run(go())


def _queue(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as conn:
        return [
            (r[0], r[1], r[2])
            for r in conn.execute(
                text("SELECT task_name, status::text, attempts FROM procrastinate_jobs")
            )
        ]


def test_every_periodic_task_is_registered_on_its_schedule(settings: Any) -> None:
    app = runner.build_app(settings)
    registered = {name: pt.cron for (name, _), pt in app.periodic_registry.periodic_tasks.items()}
    assert registered == {t.name: t.cron for t in PERIODIC}
    # Over one fixed UTC day each task comes due as often as its cron says.
    deferrer = PeriodicDeferrer(registry=app.periodic_registry)
    day = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    ticks = {
        pt.task.name: len(list(deferrer.get_timestamps(pt, since=int(day), until=day + 86400)))
        for pt in app.periodic_registry.periodic_tasks.values()
    }
    assert ticks["consultations.sla_sweep"] == 1440
    assert ticks["notifications.dispatch"] == 4 * 1440
    assert ticks["scheduling.horizon"] == 24 and ticks["retention.recordings"] == 24
    assert ticks["retention.chat"] == 1
    assert ticks["referrals.contact_by"] == 288 and ticks["video.sweep_stale_recordings"] == 288
    assert ticks["referrals.filings"] == 4 * 1440 and ticks["referrals.filing_expiry"] == 24


def test_a_schedule_can_be_overridden_in_settings(settings: Any) -> None:
    settings.jobs.schedules = {"retention.chat": "0 2 * * 0"}
    app = runner.build_app(settings)
    assert app.periodic_registry.periodic_tasks[("retention.chat", "retention.chat")].cron == (
        "0 2 * * 0"
    )


def test_the_worker_runs_every_periodic_task_with_the_fixed_clock(
    session: Session,
    clock: Any,
    ctx: Context,
    fake_sms: FakeAliyunSms,
    committed_engine: Engine,
    make_request: Any,
    make_rule: Any,
    new_doctor: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # work waiting for the tasks: a consultation past its accept limit, a waitlist offer
    # to text, a recording past its retention
    c = make_request(urgency="urgent")
    offer = waitlist_offer_to_patient(session, clock, make_rule, new_doctor)
    room = session.execute(select(Room)).scalars().first()
    assert room is not None
    old = tmp_path / "old.mp4"
    old.write_bytes(b"mp4")
    rec = Recording(
        room_id=room.id,
        path=str(old),
        status="finished",
        started_by_id=room.host_id,
        started_at=clock() - timedelta(days=1200),
        retention_until=clock() + timedelta(minutes=30),
    )
    # and a recording whose server died mid-recording (no heartbeat since)
    stale = Recording(
        room_id=room.id,
        path=str(tmp_path / "stale.mp4"),
        status="recording",
        started_by_id=room.host_id,
        started_at=clock() - timedelta(minutes=3),
        heartbeat_at=clock() - timedelta(minutes=2),
        retention_until=clock() + timedelta(days=1096),
    )
    session.add_all([rec, stale])
    session.flush()
    rec_id, stale_id = rec.id, stale.id
    clock.advance(hours=2, minutes=1)  # the fixed clock moves; the wall clock is irrelevant
    caplog.set_level(logging.INFO, logger="telemed.jobs")

    _run_every_task_once(ctx)

    done = {getattr(r, "task", None) for r in caplog.records if r.getMessage() == "task done"}
    assert done == {t.name for t in PERIODIC}
    assert _queue(committed_engine) == []  # every job succeeded (successful ones are deleted)
    assert session.execute(select(SlaBreach).where(SlaBreach.consultation_id == c["id"])).first()
    assert [m["OutId"] for m in fake_sms.accepted].count(str(offer.id)) == 1
    session.expire_all()
    assert session.get(Recording, rec_id) is None and not old.exists()
    swept = session.get(Recording, stale_id)
    assert swept is not None and swept.status == "failed" and "no heartbeat" in (swept.error or "")


def test_a_task_that_crashes_mid_way_is_retried_by_the_runner_without_duplicates(
    session: Session,
    clock: Any,
    ctx: Context,
    committed_engine: Engine,
    make_request: Any,
    users: Any,
) -> None:
    c = make_request(urgency="urgent")
    clock.advance(minutes=121)
    ctx.settings.jobs.retry_wait_base = 0  # retry at once (the delay is the queue's, not ours)
    crashed: list[str] = []

    def crash_once(where: str) -> None:
        if where == "before commit" and not crashed:
            crashed.append(where)
            raise RuntimeError("killed after the breach was written, before the commit")

    ctx.checkpoint = crash_once
    _run_every_task_once(ctx, ["consultations.sla_sweep"])

    assert crashed and _queue(committed_engine) == []  # the retry succeeded
    breaches = session.execute(select(SlaBreach).where(SlaBreach.consultation_id == c["id"]))
    assert len(breaches.all()) == 1
    notes = session.execute(
        select(Notification).where(
            Notification.user_id == users("coordinator").id,
            Notification.kind == "consultation.sla_breach",
            Notification.channel == "in_app",
        )
    )
    assert len(notes.all()) == 1


def test_a_task_failing_every_attempt_is_left_failed_for_operators(
    ctx: Context, committed_engine: Engine
) -> None:
    ctx.settings.jobs.retry_wait_base = 0
    ctx.settings.jobs.max_attempts = 2

    def always(where: str) -> None:
        raise RuntimeError("broken")

    ctx.checkpoint = always
    _run_every_task_once(ctx, ["scheduling.holds"])
    assert _queue(committed_engine) == [("scheduling.holds", "failed", 3)]


def test_demo_patient_consented_to_sms(session: Session) -> None:
    from telemed.identity.models import Patient

    patient = session.get(Patient, user_named(session, "patient").patient_id)
    assert patient is not None and patient.sms_consent_at is not None
