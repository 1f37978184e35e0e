from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from telemed.core.notifications import LoggingSmsGateway, Notification, dispatch_pending, enqueue


class RecordingSms:
    """Captures what would go to the SMS provider (the one double: no provider here)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, *, phone: str, text: str) -> str:
        self.sent.append((phone, text))
        return "id"


def test_in_app_is_stored_and_sms_is_dispatched_once(session: Session) -> None:
    user_id = uuid.uuid4()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    rows = enqueue(
        session=session,
        user_id=user_id,
        kind="booking_confirmed",
        title="预约成功",
        body="12月2日 09:00",
        channels=("in_app", "sms"),
        now=now,
    )
    session.flush()
    assert {r.channel for r in rows} == {"in_app", "sms"}
    sms = RecordingSms()
    sent = dispatch_pending(session=session, sms=sms, phone_of=lambda _: "13800000000", now=now)
    assert sent == 1 and sms.sent == [("13800000000", "预约成功 12月2日 09:00")]
    assert dispatch_pending(session=session, sms=sms, phone_of=lambda _: "x", now=now) == 0
    stored = session.execute(select(Notification).where(Notification.user_id == user_id))
    assert all(n.sent_at is not None for n in stored.scalars())


def test_logging_sms_gateway_masks_the_number(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="telemed.notifications")
    LoggingSmsGateway().send(phone="13812345678", text="hello")
    assert "13812345678" not in caplog.text
    assert any(getattr(r, "phone", "") == "138****5678" for r in caplog.records)
