"""The outbox dispatched by the runner's task: consent, retries with backoff, dead letters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from telemed.core.audit import AuditEvent
from telemed.core.notifications import Notification
from telemed.jobs.tasks import Context, run_task
from tests.jobs.helpers import waitlist_offer_to_patient, withdraw_consent
from tests.scheduling.conftest import user_named
from tests.support.fake_aliyun_sms import FakeAliyunSms


def _reload(session: Session, n: Notification) -> Notification:
    session.expire_all()
    got = session.get(Notification, n.id)
    assert got is not None
    return got


def test_the_waitlist_offer_reaches_the_consenting_patient_once(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms, make_rule, new_doctor
) -> None:
    note = waitlist_offer_to_patient(session, clock, make_rule, new_doctor)
    out = run_task("notifications.dispatch", ctx)
    assert out["sent"] >= 1
    mine = [m for m in fake_sms.accepted if m["OutId"] == str(note.id)]
    assert len(mine) == 1
    assert mine[0]["PhoneNumbers"] == "13800000017" and mine[0]["TemplateCode"] == "SMS_900001"
    assert mine[0]["TemplateParam"]["minutes"] == "120"
    assert mine[0]["TemplateParam"]["time"]  # the offered slot's time, Asia/Shanghai
    row = _reload(session, note)
    assert (row.status, row.attempts) == ("sent", 1)
    assert row.provider_message_id and row.provider_message_id.startswith("biz-")
    run_task("notifications.dispatch", ctx)  # nothing is sent twice
    assert len([m for m in fake_sms.accepted if m["OutId"] == str(note.id)]) == 1


def test_a_patient_who_did_not_consent_gets_no_sms(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms, make_rule, new_doctor
) -> None:
    withdraw_consent(session, user_named(session, "patient"))
    note = waitlist_offer_to_patient(session, clock, make_rule, new_doctor)
    run_task("notifications.dispatch", ctx)
    assert [m for m in fake_sms.accepted if m["OutId"] == str(note.id)] == []
    assert _reload(session, note).status == "skipped"


def test_provider_errors_are_retried_with_backoff_then_dead_lettered_for_admins(
    session: Session,
    clock: Any,
    ctx: Context,
    fake_sms: FakeAliyunSms,
    make_rule,
    new_doctor,
    client: TestClient,
    login: Callable[[str], dict[str, str]],
) -> None:
    ctx.settings.sms.max_attempts = 3
    note = waitlist_offer_to_patient(session, clock, make_rule, new_doctor)
    fake_sms.fail_with = "isv.BUSINESS_LIMIT_CONTROL"  # a provider throttle: try later
    run_task("notifications.dispatch", ctx)
    row = _reload(session, note)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == clock() + timedelta(seconds=60)
    assert "BUSINESS_LIMIT_CONTROL" in (row.last_error or "")
    run_task("notifications.dispatch", ctx)  # not due yet: not tried
    assert _reload(session, note).attempts == 1
    clock.advance(seconds=60)
    run_task("notifications.dispatch", ctx)
    row = _reload(session, note)
    assert row.attempts == 2 and row.next_attempt_at == clock() + timedelta(seconds=120)
    clock.advance(seconds=120)
    run_task("notifications.dispatch", ctx)
    row = _reload(session, note)
    assert (row.status, row.attempts, row.dead_at) == ("dead", 3, clock())
    tries = [r for r in fake_sms.refused if r.get("OutId") == str(note.id)]
    assert len(tries) == 3

    admin = login("admin")
    assert client.get("/api/v1/admin/outbox", headers=login("patient")).status_code == 403
    page = client.get("/api/v1/admin/outbox", params={"status": "dead"}, headers=admin).json()
    [item] = [i for i in page["items"] if i["id"] == str(note.id)]
    assert item["attempts"] == 3 and "BUSINESS_LIMIT_CONTROL" in item["last_error"]
    assert "phone" not in item and "body" not in item
    assert session.execute(
        select(AuditEvent).where(AuditEvent.object_type == "notification_outbox")
    ).first()
    # Once the cause is fixed an admin puts it back; the next dispatch delivers it.
    fake_sms.fail_with = None
    r = client.post(f"/api/v1/admin/outbox/{note.id}/retry", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    again = client.post(f"/api/v1/admin/outbox/{note.id}/retry", headers=admin)
    assert again.status_code == 409 and again.json()["code"] == "not_dead"
    run_task("notifications.dispatch", ctx)
    assert _reload(session, note).status == "sent"


def test_a_bad_signature_dead_letters_at_once(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms, make_rule, new_doctor
) -> None:
    from telemed.core.sms import AliyunSmsGateway
    from tests.jobs.conftest import aliyun_settings

    ctx.sms = AliyunSmsGateway(aliyun_settings(fake_sms, secret="rotated-away"))
    note = waitlist_offer_to_patient(session, clock, make_rule, new_doctor)
    run_task("notifications.dispatch", ctx)
    row = _reload(session, note)
    assert (row.status, row.attempts) == ("dead", 1)
    assert "SignatureDoesNotMatch" in (row.last_error or "")
    assert "rotated-away" not in (row.last_error or "")


def test_a_crash_mid_dispatch_is_retried_without_duplicate_messages(
    session: Session, clock: Any, ctx: Context, fake_sms: FakeAliyunSms, make_rule, new_doctor
) -> None:
    first = waitlist_offer_to_patient(session, clock, make_rule, new_doctor)
    second = waitlist_offer_to_patient(session, clock, make_rule, new_doctor)
    crashes = []

    def crash_after_first(where: str) -> None:
        if where == f"delivered {first.id}" and not crashes:
            crashes.append(where)
            raise RuntimeError("worker killed")

    ctx.checkpoint = crash_after_first
    with pytest.raises(RuntimeError):
        run_task("notifications.dispatch", ctx)
    run_task("notifications.dispatch", ctx)  # the retry
    for n in (first, second):
        assert len([m for m in fake_sms.accepted if m["OutId"] == str(n.id)]) == 1
        assert _reload(session, n).status == "sent"
