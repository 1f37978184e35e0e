"""Notification outbox, written in the same transaction as the event it announces.

A dispatcher delivers pending rows through channels: `in_app` is stored and read
at `GET /api/v1/notifications`; `sms` goes through an `SmsGateway` whose only
implementation today logs (no provider is chosen yet).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, select

from telemed.core import clock
from telemed.core.db import id_field, utc_field

log = logging.getLogger("telemed.notifications")


class Notification(SQLModel, table=True):
    """One message to one user on one channel."""

    __tablename__ = "notification"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(index=True)
    channel: str = Field(default="in_app", max_length=16)
    kind: str = Field(max_length=64)
    title: str = Field(max_length=200)
    body: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field(index=True)
    sent_at: datetime | None = utc_field(nullable=True)
    read_at: datetime | None = utc_field(nullable=True)


def enqueue(
    *,
    session: Session,
    user_id: uuid.UUID,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    channels: tuple[str, ...] = ("in_app",),
    now: datetime | None = None,
    add: bool = True,
) -> list[Notification]:
    """Add notifications to the outbox in the caller's transaction (with `add=False` the
    rows are only built: the caller writes them, e.g. in one statement with its work)."""
    at = now or clock.now()
    rows = []
    for channel in channels:
        row = Notification(
            user_id=user_id,
            channel=channel,
            kind=kind,
            title=title,
            body=body,
            data=data or {},
            created_at=at,
            sent_at=at if channel == "in_app" else None,
        )
        if add:
            session.add(row)
        rows.append(row)
    return rows


class SmsGateway(Protocol):
    def send(self, *, phone: str, text: str) -> str:
        """Send one SMS; return the provider's message id."""


class LoggingSmsGateway:
    """Stand-in until an SMS provider is contracted: logs instead of sending."""

    def send(self, *, phone: str, text: str) -> str:
        masked = phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "***"
        log.info("sms", extra={"phone": masked, "text": text})
        return f"log-{uuid.uuid4().hex[:12]}"


def dispatch_pending(
    *, session: Session, sms: SmsGateway, phone_of: Any, now: datetime, limit: int = 100
) -> int:
    """Deliver unsent non-in-app notifications; return how many were sent."""
    stmt = (
        select(Notification)
        .where(Notification.sent_at.is_(None))  # type: ignore[union-attr]
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    sent = 0
    for row in session.execute(stmt).scalars():
        if row.channel == "sms":
            phone = phone_of(row.user_id)
            if phone:
                sms.send(phone=phone, text=f"{row.title} {row.body}".strip())
        row.sent_at = now
        sent += 1
    session.flush()
    return sent
