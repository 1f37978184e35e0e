"""`make run`'s path: on SQLite the API process runs the job runner itself, so a waitlist
offer's SMS reaches the (logging) gateway with nobody running a command."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.sqlite_runs import Built, development_env
from tests.support.uvicorn import ROOT, serve

pytestmark = pytest.mark.e2e

OFFER = """
from datetime import timedelta
from sqlmodel import Session, col, select
from scheduling import service
from scheduling.horizon import materialize
from scheduling.models import Slot
from scheduling.schemas import WaitlistCreate
from telemed.core import clock
from telemed.core.db import get_engine
from telemed.core.notifications import Notification
from telemed.identity.models import User

now = clock.now()
with Session(get_engine()) as s:
    materialize(session=s, now=now, horizon_days=14)
    def user(name):
        return s.execute(select(User).where(User.username == name)).scalar_one()
    patient, doctor = user("patient"), user("specialist")
    slot = s.execute(
        select(Slot).where(col(Slot.start_at) > now + timedelta(days=1), Slot.capacity == 1)
        .order_by(col(Slot.start_at))
    ).scalars().first()
    booking = service.book(session=s, slot_id=slot.id, by=doctor, patient_id=None, now=now)
    window = WaitlistCreate(
        specialty_code=slot.specialty_code,
        start_at=slot.start_at - timedelta(hours=1),
        end_at=slot.end_at + timedelta(hours=1),
    )
    service.join_waitlist(session=s, data=window, by=patient, now=now)
    service.cancel_booking(session=s, booking_id=booking.id, by=doctor, now=now, reason="x")
    s.commit()
    n = s.execute(select(Notification).where(
        Notification.kind == "waitlist.offer", Notification.channel == "sms",
        Notification.status == "pending")).scalars().all()
    print(len(n))
"""


def test_make_run_sends_the_waitlist_offer_sms_without_a_command(
    sqlite_demo: Built, tmp_path: Path
) -> None:
    # a fresh SQLite after `db upgrade` and `seed --demo --no-activity`, built once per run
    seeded = sqlite_demo.result("accounts")
    assert seeded.returncode == 0, seeded.stderr
    env = {
        **development_env(sqlite_demo.copy("accounts", tmp_path / "telemed.db")),
        "TELEMED_LOG_LEVEL": "INFO",
        # every 2 s instead of 15 s, to keep the test short (the schedule is a setting)
        "TELEMED_JOBS__SCHEDULES": '{"notifications.dispatch": "* * * * * */2"}',
    }
    made = subprocess.run(
        [sys.executable, "-c", OFFER], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    assert made.stdout.strip() == "1", made.stderr
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log, serve(env, log) as base:
        deadline = time.monotonic() + 60  # a timeout, not a pace: returns when it is sent
        while time.monotonic() < deadline:
            if '"kind": "waitlist.offer"' in log_path.read_text():
                break
            time.sleep(0.5)
        metrics = httpx.get(f"{base}/metrics").text  # open in development
    text = log_path.read_text()
    line = next(x for x in text.splitlines() if '"kind": "waitlist.offer"' in x)
    assert '"msg": "sms"' in line and '"phone": "138****0017"' in line
    assert "已为您保留120分钟" in line and "13800000017" not in text
    assert "telemed_job_queue_depth" in metrics and "telemed_outbox_backlog" in metrics
