"""The session record of a room: append-only events, mirrored onto the consultation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from telemed.identity.models import User
from telemed.video import participants as room_participants
from telemed.video.models import Room, RoomEvent

__all__ = ["events", "record_event"]


def events(*, session: Session, room_id: uuid.UUID) -> list[RoomEvent]:
    """The session record of a room, oldest first."""
    return list(
        session.execute(
            select(RoomEvent)
            .where(RoomEvent.room_id == room_id)
            .order_by(col(RoomEvent.at), col(RoomEvent.id))
        ).scalars()
    )


def record_event(
    *,
    session: Session,
    room: Room,
    kind: str,
    now: datetime,
    user: User | None = None,
    data: dict[str, Any] | None = None,
    live: bool = False,
) -> RoomEvent:
    """Append one event to the session record (and to the consultation's, `live`: in session)."""
    ev = RoomEvent(
        room_id=room.id, at=now, user_id=user.id if user else None, kind=kind, data=data or {}
    )
    session.add(ev)
    room_participants.record_on_consultation(
        session=session,
        room=room,
        kind=kind,
        data={"user_id": str(user.id) if user else None, **(data or {})},
        now=now,
        by=user,
        live=live,
    )
    return ev
