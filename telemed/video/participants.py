"""Who takes part in a room: the consultation's participants, or the invitation list.

Rooms linked to a consultation ask `telemed.consultations.service`; other rooms
(training sessions) carry an explicit invitation list set by whoever created the room.
The host is always a participant.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from telemed.consultations import service as consultations
from telemed.core.errors import Conflict
from telemed.video.models import Room, RoomInvite

log = logging.getLogger("telemed.video.participants")

# Hooks of the domain that owns a room of a kind (training: the course's enrolled doctors and
# its attendance), registered by telemed.wiring: `who(session, room)` adds participants,
# `presence(session, room, user_id, event, now)` hears `join` / `leave` of the live room,
# `viewers(session, room, user_id)` says who may play the room's recordings (instead of the
# participants at the recording's start).
Who = Callable[[Session, Room], set[uuid.UUID]]
Presence = Callable[[Session, Room, uuid.UUID, str, datetime], None]
Viewers = Callable[[Session, Room, uuid.UUID], bool]
_who: dict[str, Who] = {}
_presence: dict[str, Presence] = {}
_viewers: dict[str, Viewers] = {}


def register_kind(
    kind: str, *, who: Who, presence: Presence, viewers: Viewers | None = None
) -> None:
    """Let the domain owning rooms of `kind` name their participants, hear their presence
    and (optionally) decide who may play their recordings."""
    _who[kind] = who
    _presence[kind] = presence
    if viewers is not None:
        _viewers[kind] = viewers


def recording_viewer(*, session: Session, room: Room, user_id: uuid.UUID) -> bool | None:
    """Whether the owner of the room's kind lets `user_id` play its recordings (None: the
    kind has no rule of its own)."""
    rule = _viewers.get(room.kind)
    return None if rule is None else rule(session, room, user_id)


def participant_ids(*, session: Session, room: Room) -> set[uuid.UUID]:
    """User ids allowed into `room`."""
    ids = {room.host_id}
    ids.update(
        session.execute(select(RoomInvite.user_id).where(RoomInvite.room_id == room.id)).scalars()
    )
    if room.consultation_id is not None:
        ids.update(
            consultations.participants(session=session, consultation_id=room.consultation_id)
        )
    if room.kind in _who:
        ids.update(_who[room.kind](session, room))
    return ids


def presence(
    *, session: Session, room: Room, user_id: uuid.UUID, event: str, now: datetime
) -> None:
    """Tell the room kind's owner that `user_id` joined or left the live room (admitted)."""
    hook = _presence.get(room.kind)
    if hook is not None:
        hook(session, room, user_id, event, now)


def is_consultation_mdt(*, session: Session, consultation_id: uuid.UUID) -> bool:
    """Whether the consultation is a case discussion / MDT (多学科会诊)."""
    c = consultations.get_consultation(session=session, consultation_id=consultation_id)
    return str(c.service_class) == "case_discussion"


def patient_of(*, session: Session, room: Room) -> uuid.UUID | None:
    """The patient of the room's consultation (None for rooms of no consultation)."""
    if room.consultation_id is None:
        return None
    c = consultations.get_consultation(session=session, consultation_id=room.consultation_id)
    return c.patient_id


def patient_of_consultation(*, session: Session, consultation_id: uuid.UUID) -> uuid.UUID:
    """The patient of a consultation (404 when it does not exist)."""
    c = consultations.get_consultation(session=session, consultation_id=consultation_id)
    return c.patient_id


def consultation_participants(*, session: Session, consultation_id: uuid.UUID) -> set[uuid.UUID]:
    """The consultation's participants (404 when it does not exist)."""
    return consultations.participants(session=session, consultation_id=consultation_id)


def has_live_session(*, session: Session, consultation_id: uuid.UUID) -> bool:
    """Whether the consultation's service class meets live (404 when it does not exist)."""
    c = consultations.get_consultation(session=session, consultation_id=consultation_id)
    return bool(c.live_session)


def session_window(
    *, session: Session, consultation_id: uuid.UUID
) -> tuple[datetime, datetime] | None:
    """The consultation's scheduled live session (None until it is scheduled)."""
    return consultations.session_window(session=session, consultation_id=consultation_id)


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
    if room.consultation_id is None:
        return
    if live and by is not None:
        try:
            # A savepoint: a consultation not (yet) scheduled keeps its state, the room works.
            with session.begin_nested():
                consultations.mark_in_session(
                    session=session, consultation_id=room.consultation_id, by=by, now=now
                )
        except Conflict as exc:
            log.warning("consultation %s not marked in session: %s", room.consultation_id, exc)
    consultations.record_session_event(
        session=session,
        consultation_id=room.consultation_id,
        kind=kind,
        data={"room_id": str(room.id), **data},
        now=now,
    )
