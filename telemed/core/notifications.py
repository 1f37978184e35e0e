"""Notification outbox, written in the same transaction as the event it announces.

`in_app` rows are addressed to a user account and delivered by being stored (read at
`GET /api/v1/notifications`). `sms` rows are addressed to a patient (`patient_id`, no
`user_id`: one text per event however many accounts the patient has, and also when the
patient has none, e.g. a resident registered by staff); they are `pending` until the job
runner's dispatch task hands them to a gateway (telemed.core.sms): `sent`; `skipped` when
the patient has no phone or has not consented to SMS; after a failure retried with
doubling delays, and `dead` (a dead letter, listed to admins) after `max_attempts`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, or_
from sqlmodel import Field, Session, SQLModel, col, select

from telemed.core import clock
from telemed.core.db import id_field, utc_field
from telemed.core.i18n import DEFAULT_LANGUAGE, stored_params
from telemed.core.sms import SmsError, SmsGateway

log = logging.getLogger("telemed.notifications")

PENDING, SENT, SKIPPED, DEAD = "pending", "sent", "skipped", "dead"


class Notification(SQLModel, table=True):
    """One message on one channel, to a user account (`in_app`) or to a patient (`sms`).

    SMS rows written before core 0022 have a `user_id` and no `patient_id`."""

    __tablename__ = "notification"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = Field(default=None, index=True)
    patient_id: uuid.UUID | None = Field(default=None, index=True)
    channel: str = Field(default="in_app", max_length=16)
    kind: str = Field(max_length=64)
    # The catalogue entry title and body were rendered from, and the values filled in
    # (codes and ISO times: telemed.core.i18n.stored_params); a client renders them itself.
    code: str = Field(default="", max_length=64)
    params: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    title: str = Field(max_length=200)
    body: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field(index=True)
    sent_at: datetime | None = utc_field(nullable=True)
    read_at: datetime | None = utc_field(nullable=True)
    status: str = Field(default=PENDING, max_length=12, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = utc_field(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    provider_message_id: str | None = Field(default=None, max_length=100)
    dead_at: datetime | None = utc_field(nullable=True)


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
    code: str | None = None,
    params: dict[str, Any] | None = None,
) -> list[Notification]:
    """Add notifications for a user account to the outbox in the caller's transaction (with
    `add=False` the rows are only built: the caller writes them, e.g. in one statement with
    its work). `code` (default: `kind`) and `params` name the catalogue message the title
    and body were rendered from. SMS speaks to a patient, not to an account: `text_patient`."""
    if "sms" in channels:
        raise ValueError("an SMS is addressed to a patient: use text_patient")
    at = now or clock.now()
    rows = []
    for channel in channels:
        row = Notification(
            user_id=user_id,
            channel=channel,
            kind=kind,
            code=code or kind,
            params=stored_params(params or {}),
            title=title,
            body=body,
            data=data or {},
            created_at=at,
            sent_at=at if channel == "in_app" else None,
            status=SENT if channel == "in_app" else PENDING,
        )
        if add:
            session.add(row)
        rows.append(row)
    return rows


def text_patient(
    *,
    session: Session,
    patient_id: uuid.UUID,
    kind: str,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
    add: bool = True,
    code: str | None = None,
    params: dict[str, Any] | None = None,
) -> Notification:
    """Queue the one SMS of an event to a patient, whether or not the patient has accounts;
    whether it is sent (phone, consent) is decided at delivery. `add`, `code` and `params`
    as in `enqueue`."""
    row = Notification(
        user_id=None,
        patient_id=patient_id,
        channel="sms",
        kind=kind,
        code=code or kind,
        params=stored_params(params or {}),
        title=title,
        body=body,
        data=data or {},
        created_at=now or clock.now(),
        status=PENDING,
    )
    if add:
        session.add(row)
    return row


# The number to text a notification on, or None (no phone, no consent: skipped).
PhoneOf = Callable[[Session, Notification], str | None]


def due_ids(*, session: Session, now: datetime, limit: int = 100) -> list[uuid.UUID]:
    """Pending non-in-app notifications whose (next) attempt is due, oldest first."""
    return list(
        session.execute(
            select(Notification.id)
            .where(
                Notification.status == PENDING,
                Notification.channel != "in_app",
                or_(
                    col(Notification.next_attempt_at).is_(None),
                    col(Notification.next_attempt_at) <= now,
                ),
            )
            .order_by(col(Notification.created_at), col(Notification.id))
            .limit(limit)
        ).scalars()
    )


def backoff(attempts: int, *, first_seconds: int, max_seconds: int) -> timedelta:
    """Delay before the next attempt after `attempts` failures: doubling, capped."""
    return timedelta(seconds=min(first_seconds * 2 ** (attempts - 1), max_seconds))


def deliver_one(
    *,
    session: Session,
    notification_id: uuid.UUID,
    sms: SmsGateway,
    phone_of: PhoneOf,
    params_of: Callable[[Session, Notification], dict[str, str]],
    now: datetime,
    max_attempts: int,
    backoff_seconds: int = 60,
    max_backoff_seconds: int = 3600,
    language_of: Callable[[Session, Notification], str] | None = None,
) -> str | None:
    """Try one pending notification (claimed with SKIP LOCKED); return its new status, or
    None when another dispatcher holds it or it is no longer due. The caller commits.
    `language_of` names the template's language (default zh-CN); `params_of` fills it."""
    row = session.execute(
        select(Notification)
        .where(Notification.id == notification_id, Notification.status == PENDING)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if row is None or (row.next_attempt_at is not None and row.next_attempt_at > now):
        return None
    if row.channel != "sms":
        _fail(row, f"no gateway for channel {row.channel!r}", now, permanent=True)
        return row.status
    phone = phone_of(session, row)
    if not phone:  # no phone, or the patient has not consented to SMS
        row.status, row.sent_at = SKIPPED, now
        return row.status
    row.attempts += 1
    language = language_of(session, row) if language_of is not None else DEFAULT_LANGUAGE
    try:
        row.provider_message_id = sms.send(
            phone=phone,
            kind=row.kind,
            params=params_of(session, row),
            out_id=str(row.id),
            language=language,
        )
    except SmsError as exc:
        permanent = not exc.retryable or row.attempts >= max_attempts
        _fail(row, str(exc), now, permanent=permanent)
        if not permanent:
            row.next_attempt_at = now + backoff(
                row.attempts, first_seconds=backoff_seconds, max_seconds=max_backoff_seconds
            )
        log.warning(
            "sms delivery failed",
            extra={"notification_id": str(row.id), "attempts": row.attempts, "error": str(exc)},
        )
        return row.status
    row.status, row.sent_at, row.last_error = SENT, now, None
    return row.status


def _fail(row: Notification, error: str, now: datetime, *, permanent: bool) -> None:
    row.last_error = error[:500]
    if permanent:
        row.status, row.dead_at = DEAD, now


def retry_dead(*, session: Session, notification: Notification, now: datetime) -> Notification:
    """Put a dead letter back in the queue (an admin fixed its cause); the caller audits."""
    notification.status = PENDING
    notification.attempts = 0
    notification.next_attempt_at = now
    notification.dead_at = None
    session.flush()
    return notification
