"""Who takes part in a room: the consultation's participants, or the invitation list.

Rooms linked to a consultation ask `telemed.consultations.service` (once that domain
is present); other rooms (training, or before consultations landed) carry an explicit
invitation list set by whoever created the room. The host is always a participant.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlmodel import Session, select

from telemed.core.errors import Conflict
from telemed.video.models import Room, RoomInvite

log = logging.getLogger("telemed.video.participants")


def consultations_service() -> ModuleType | None:
    """The consultations service module when that domain is installed."""
    try:
        return importlib.import_module("telemed.consultations.service")
    except ModuleNotFoundError:
        return None


def participant_ids(*, session: Session, room: Room) -> set[uuid.UUID]:
    """User ids allowed into `room`."""
    ids = {room.host_id}
    ids.update(
        session.execute(select(RoomInvite.user_id).where(RoomInvite.room_id == room.id)).scalars()
    )
    svc = consultations_service()
    if room.consultation_id is not None and svc is not None:
        ids.update(svc.participants(session=session, consultation_id=room.consultation_id))
    return ids


def session_window(
    *, session: Session, consultation_id: uuid.UUID
) -> tuple[datetime, datetime] | None:
    """The consultation's scheduled live session, when consultations can tell."""
    svc = consultations_service()
    if svc is None:
        return None
    window: tuple[datetime, datetime] | None = svc.session_window(
        session=session, consultation_id=consultation_id
    )
    return window


def record_on_consultation(
    *,
    session: Session,
    room: Room,
    kind: str,
    data: dict[str, Any],
    now: datetime,
    by: Any | None = None,
    live: bool = False,
) -> None:
    """Mirror a session event onto the consultation record; `live` marks it in session."""
    svc = consultations_service()
    if room.consultation_id is None or svc is None:
        return
    if live and by is not None:
        try:
            # A savepoint: a consultation not (yet) scheduled keeps its state, the room works.
            with session.begin_nested():
                svc.mark_in_session(
                    session=session, consultation_id=room.consultation_id, by=by, now=now
                )
        except Conflict as exc:
            log.warning("consultation %s not marked in session: %s", room.consultation_id, exc)
    svc.record_session_event(
        session=session,
        consultation_id=room.consultation_id,
        kind=kind,
        data={"room_id": str(room.id), **data},
        now=now,
    )
