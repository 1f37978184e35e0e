"""Queries of the inbox: a user's in-app notifications, newest first, and marking them read."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from telemed.core import live
from telemed.core.errors import NotFound
from telemed.core.notifications import Notification
from telemed.identity.models import User

__all__ = ["after", "inbox", "mark_all_read", "mark_read", "unread_count"]


def inbox(
    *, session: Session, user: User, unread: bool = False, limit: int = 50, offset: int = 0
) -> list[Notification]:
    """The user's in-app notifications (with `unread`: those not read yet), newest first."""
    stmt = select(Notification).where(
        Notification.user_id == user.id, Notification.channel == "in_app"
    )
    if unread:
        stmt = stmt.where(col(Notification.read_at).is_(None))
    stmt = stmt.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    return list(session.execute(stmt.limit(limit).offset(offset)).scalars())


def unread_count(*, session: Session, user_id: uuid.UUID) -> int:
    """How many of the user's in-app notifications are not read yet."""
    return int(
        session.execute(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.channel == "in_app",
                col(Notification.read_at).is_(None),
            )
        ).scalar_one()
    )


def after(
    *, session: Session, user_id: uuid.UUID, floor: uuid.UUID, limit: int = 100
) -> list[tuple[uuid.UUID, str]]:
    """(id, kind) of the user's in-app notifications with an id above `floor` (ids are
    UUIDv7: in time order), oldest first: what the push channel has not told yet."""
    return [
        (row[0], row[1])
        for row in session.execute(
            select(Notification.id, Notification.kind)
            .where(
                Notification.user_id == user_id,
                Notification.channel == "in_app",
                col(Notification.id) > floor,
            )
            .order_by(col(Notification.id))
            .limit(limit)
        )
    ]


def mark_read(
    *, session: Session, user: User, notification_id: uuid.UUID, now: datetime
) -> Notification:
    """Mark one of the user's notifications read (once: the first time stays); 404 when it
    is not theirs."""
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"notification {notification_id} not found")
    if row.read_at is None:
        row.read_at = now
        live.notify_user(session, user.id)  # the user's other tabs: a new unread count
    session.flush()
    return row


def mark_all_read(*, session: Session, user: User, now: datetime) -> None:
    """Mark every unread notification of the user read."""
    session.execute(
        update(Notification)
        .where(col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
        .values(read_at=now)
    )
    live.notify_user(session, user.id)
