"""The outbox in real Chromium: a message the provider refused is dead-lettered by the job
runner (`telemed worker` on the live server's PostgreSQL, texting a local Aliyun endpoint
that checks signatures); the admin sees it with its last error, retries it, and the runner
then delivers it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from telemed.core.sms import TEMPLATES
from tests.e2e.conftest import ARTIFACTS, ROOT, LiveServer, login, shot
from tests.support.fake_aliyun_sms import FakeAliyunSms

pytestmark = pytest.mark.e2e


def _until(what: str, check: Callable[[], Any], timeout: float = 90) -> Any:
    """Wait for `check()` to be truthy (a timeout, not a pace: returns as soon as it is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def provider() -> Iterator[FakeAliyunSms]:
    fake = FakeAliyunSms().start()
    yield fake
    fake.stop()


@pytest.fixture
def worker(live_server: LiveServer, provider: FakeAliyunSms) -> Iterator[subprocess.Popen[bytes]]:
    """The job runner as production runs it, on the live server's database: one attempt
    before a message is dead-lettered, the outbox dispatched every second."""
    env = {
        **live_server.env,
        "TELEMED_ENV": "test",
        "TELEMED_SMS__PROVIDER": "aliyun",
        "TELEMED_SMS__ENDPOINT": provider.url,
        "TELEMED_SMS__ACCESS_KEY_ID": provider.access_key_id,
        "TELEMED_SMS__ACCESS_KEY_SECRET": provider.access_key_secret,
        "TELEMED_SMS__SIGN_NAME": "内蒙古远程医疗",
        "TELEMED_SMS__TEMPLATE_CODES": json.dumps(
            {kind: f"SMS_{700001 + i}" for i, kind in enumerate(TEMPLATES)}
        ),
        "TELEMED_SMS__MAX_ATTEMPTS": "1",
        "TELEMED_JOBS__SCHEDULES": '{"notifications.dispatch": "* * * * * */1"}',
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "outbox-worker.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "telemed.cli", "worker"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _book_for_the_patient(live_server: LiveServer) -> str:
    """The demo patient (consented to SMS) books a slot: `booking.confirmed` is queued."""
    with live_server.api("patient") as patient:
        start = (datetime.now(UTC) + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
        slots = patient.get("/slots", params={"start_from": start, "limit": 50}).json()
        assert slots, "no free slot for the patient"
        for slot in reversed(slots):  # late ones: clear of the other stories' bookings
            r = patient.post("/bookings", json={"slot_id": slot["id"]})
            if r.status_code == 201:
                return str(r.json()["id"])
        pytest.fail(f"the patient could book none of {len(slots)} slots: {r.text}")


def test_an_admin_retries_a_dead_letter_and_it_is_then_sent(
    new_page: Any,
    live_server: LiveServer,
    provider: FakeAliyunSms,
    worker: subprocess.Popen[bytes],
) -> None:
    provider.fail_with = "isv.BUSINESS_LIMIT_CONTROL"  # the provider's throttle
    booking_id = _book_for_the_patient(live_server)
    try:
        _dead_letter_retried(new_page, live_server, provider, worker, booking_id)
    finally:  # the place goes back: the other stories (the waitlist's full day) need it
        with live_server.api("patient") as patient:
            r = patient.post(f"/bookings/{booking_id}/cancel", json={"reason": "测试结束"})
            assert r.status_code == 200, r.text


def _dead_letter_retried(
    new_page: Any,
    live_server: LiveServer,
    provider: FakeAliyunSms,
    worker: subprocess.Popen[bytes],
    booking_id: str,
) -> None:
    engine = create_engine(live_server.database_url)

    def sms_row() -> Any:
        with engine.connect() as conn:
            return (
                conn.execute(
                    text(
                        "SELECT id, status, attempts, last_error, user_id, patient_id"
                        " FROM notification"
                        " WHERE channel = 'sms' AND kind = 'booking.confirmed'"
                        " AND CAST(data AS jsonb) ->> 'booking_id' = :b"
                    ),
                    {"b": booking_id},
                )
                .mappings()
                .one_or_none()
            )

    dead = _until("the runner to dead-letter the message", lambda: (
        (row := sms_row()) is not None and row["status"] == "dead" and row
    ))  # fmt: skip
    assert worker.poll() is None, "the worker stopped"
    note_id = str(dead["id"])
    assert dead["user_id"] is None and dead["patient_id"] is not None  # to the patient
    assert dead["attempts"] == 1 and "BUSINESS_LIMIT_CONTROL" in dead["last_error"]
    # The provider really was asked, with a request whose signature it checked.
    assert [r["code"] for r in provider.refused if r.get("OutId") == note_id] == [
        "isv.BUSINESS_LIMIT_CONTROL"
    ]

    page = new_page()
    login(page, "admin")
    page.goto("/#/outbox")
    row = page.locator(f'tr[data-id="{note_id}"]')
    expect(row).to_contain_text("booking.confirmed")
    expect(row).to_contain_text("isv.BUSINESS_LIMIT_CONTROL")  # the last error
    expect(row.locator("td").nth(2)).to_have_text("患者 138****0017")  # the patient, masked
    expect(row.locator("td").nth(3)).to_have_text("1")  # attempts
    assert "13800000017" not in page.content()  # never the number
    shot(page, "admin-outbox-dead-letter")

    provider.fail_with = None  # the cause is fixed (the provider's limit lifted)
    with page.expect_response(lambda r: r.url.endswith(f"/admin/outbox/{note_id}/retry")) as resp:
        row.get_by_role("button").click()
    assert resp.value.status == 200
    expect(row).to_contain_text("已重新入队")

    sent = _until("the runner to send the retried message", lambda: (
        (r := sms_row()) is not None and r["status"] == "sent" and r
    ))  # fmt: skip
    assert sent["last_error"] is None
    [msg] = [m for m in provider.accepted if m["OutId"] == note_id]
    assert msg["PhoneNumbers"] == "13800000017" and msg["Action"] == "SendSms"
    assert msg["TemplateCode"] == f"SMS_{700001 + list(TEMPLATES).index('booking.confirmed')}"
    assert set(msg["TemplateParam"]) == {"time", "place"} and all(msg["TemplateParam"].values())

    # Gone from the dead letters and from the waiting ones.
    page.reload()
    page.get_by_test_id("outbox-table").wait_for()
    expect(page.locator(f'tr[data-id="{note_id}"]')).to_have_count(0)
    page.locator("#outbox-status").select_option("pending")
    page.get_by_test_id("outbox-table").wait_for()
    expect(page.locator(f'tr[data-id="{note_id}"]')).to_have_count(0)
    shot(page, "admin-outbox-after-retry")
    engine.dispose()
