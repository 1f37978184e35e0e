from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from telemed.core import notifications
from telemed.core.notifications import Notification, enqueue, text_patient
from telemed.core.sms import LoggingSmsGateway, SmsError


class RecordingSms:
    """Captures what would go to the SMS provider (the one double: no provider here)."""

    def __init__(self, fail: SmsError | None = None) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []
        self.fail = fail

    def send(
        self, *, phone: str, kind: str, params: dict[str, str], out_id: str, language: str = "zh-CN"
    ) -> str:
        if self.fail:
            raise self.fail
        self.sent.append((phone, kind, params))
        return "id"


def _deliver(session: Session, n: Notification, sms: RecordingSms, now: datetime) -> str | None:
    return notifications.deliver_one(
        session=session,
        notification_id=n.id,
        sms=sms,
        phone_of=lambda _s, row: "13800000000" if row.id == n.id else None,
        params_of=lambda _s, _n: {"time": "12月02日 09:00"},
        now=now,
        max_attempts=2,
    )


def test_in_app_is_stored_and_sms_is_dispatched_once(session: Session) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    user_id, patient_id = uuid.uuid4(), uuid.uuid4()
    [in_app] = enqueue(
        session=session, user_id=user_id, kind="booking.cancelled", title="预约已取消", now=now
    )
    sms_row = text_patient(
        session=session,
        patient_id=patient_id,
        kind="booking.cancelled",
        title="预约已取消",
        now=now,
    )
    session.flush()
    assert (in_app.channel, in_app.user_id, in_app.patient_id) == ("in_app", user_id, None)
    assert (sms_row.channel, sms_row.user_id, sms_row.patient_id) == ("sms", None, patient_id)
    assert (in_app.status, sms_row.status) == ("sent", "pending")
    assert notifications.due_ids(session=session, now=now).count(sms_row.id) == 1
    assert in_app.id not in notifications.due_ids(session=session, now=now)
    sms = RecordingSms()
    assert _deliver(session, sms_row, sms, now) == "sent"
    assert sms.sent == [("13800000000", "booking.cancelled", {"time": "12月02日 09:00"})]
    assert _deliver(session, sms_row, sms, now) is None  # no longer pending
    assert sms_row.id not in notifications.due_ids(session=session, now=now)


def test_an_sms_is_addressed_to_a_patient_not_to_an_account(session: Session) -> None:
    with pytest.raises(ValueError, match="text_patient"):
        enqueue(
            session=session, user_id=uuid.uuid4(), kind="x", title="t", channels=("in_app", "sms")
        )


def test_a_row_without_a_phone_is_skipped_not_sent(session: Session) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    row = text_patient(session=session, patient_id=uuid.uuid4(), kind="x", title="t", now=now)
    session.flush()
    sms = RecordingSms()
    status = notifications.deliver_one(
        session=session,
        notification_id=row.id,
        sms=sms,
        phone_of=lambda _s, _n: None,
        params_of=lambda _s, _n: {},
        now=now,
        max_attempts=2,
    )
    assert (status, row.attempts, row.sent_at, sms.sent) == ("skipped", 0, now, [])


def test_a_permanent_provider_error_dead_letters_at_once(session: Session) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    row = text_patient(session=session, patient_id=uuid.uuid4(), kind="x", title="t", now=now)
    session.flush()
    status = _deliver(session, row, RecordingSms(SmsError("bad number", retryable=False)), now)
    assert (status, row.attempts, row.dead_at) == ("dead", 1, now)


def test_backoff_doubles_and_is_capped() -> None:
    delays = [notifications.backoff(n, first_seconds=60, max_seconds=600) for n in (1, 2, 3, 5)]
    assert [d.total_seconds() for d in delays] == [60, 120, 240, 600]


def test_logging_sms_gateway_masks_the_number(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="telemed.notifications")
    LoggingSmsGateway().send(
        phone="13812345678", kind="booking.cancelled", params={"time": "09:00"}, out_id="1"
    )
    assert "13812345678" not in caplog.text
    assert any(getattr(r, "phone", "") == "138****5678" for r in caplog.records)
    assert any(getattr(r, "text", "") == "您09:00的预约已取消。" for r in caplog.records)
