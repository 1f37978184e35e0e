"""Chat of a room, kept in the session record (and purged with its retention)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from telemed.core.errors import Forbidden, Invalid
from telemed.identity.models import User
from telemed.video.models import RoomEvent
from telemed.video.presence import find_participant
from telemed.video.rooms import get_room
from telemed.video.states import CHATS

__all__ = ["CHAT_MAX_CHARS", "add_chat"]

CHAT_MAX_CHARS = 2000


def add_chat(
    *, session: Session, room_id: uuid.UUID, user: User, text: str, now: datetime
) -> RoomEvent:
    """A chat message, kept in the session record."""
    text = text.strip()
    if not text or len(text) > CHAT_MAX_CHARS:
        raise Invalid(f"chat text must be 1-{CHAT_MAX_CHARS} characters", field="text")
    part = find_participant(session=session, room_id=room_id, user_id=user.id)
    if part is None or part.status not in CHATS:
        raise Forbidden("only admitted participants chat")
    room = get_room(session=session, room_id=room_id)
    ev = RoomEvent(room_id=room.id, at=now, user_id=user.id, kind="chat", data={"text": text})
    session.add(ev)
    session.flush()
    return ev
