"""Rooms of video sessions: creation, the joining window, who sees which room.

One room per scheduled session of a consultation (or of a training course); its
participants come from `participants.py`. Functions are keyword-only and only flush.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.settings import VideoSettings
from telemed.identity.models import DOCTOR_ROLES, Role, User
from telemed.video import participants as room_participants
from telemed.video.models import Room, RoomInvite, RoomKind, RoomMode
from telemed.video.schemas import RoomCreate, RoomPublic

__all__ = [
    "ROOM_CREATORS",
    "DEFAULT_SESSION_MINUTES",
    "NoLiveSession",
    "NotInvited",
    "RoomClosed",
    "create_room",
    "get_room",
    "locked_room",
    "participant_limit",
    "sfu_configured",
    "topology",
    "read_room",
    "room_for",
    "room_public",
    "rooms_of_consultation",
    "window",
]

ROOM_CREATORS = (Role.COORDINATOR, Role.SPECIALIST, Role.ADMIN)


class RoomClosed(Conflict):
    code, title = "room_closed", "Room not open"


class NotInvited(Forbidden):
    code, title = "not_invited", "Not invited"


class NoLiveSession(Invalid):
    """The consultation's service has no live session (imaging, ECG, pathology reading)."""

    code, title = "no_live_session", "No live session"


# An unscheduled live consultation's room: from now, this long (the join window adds the
# settings' minutes before and after).
DEFAULT_SESSION_MINUTES = 30


def window(*, room: Room, settings: VideoSettings) -> tuple[datetime, datetime]:
    """When the room accepts joins: opens before the slot, closes after it."""
    return (
        room.starts_at - timedelta(minutes=settings.room_opens_minutes_before),
        room.ends_at + timedelta(minutes=settings.room_closes_minutes_after),
    )


def create_room(
    *, session: Session, data: RoomCreate, by: User, now: datetime, settings: VideoSettings
) -> Room:
    """Create a room for one scheduled session."""
    if by.role not in ROOM_CREATORS:
        raise Forbidden("only coordinators and specialists create rooms")
    starts_at, ends_at = data.starts_at, data.ends_at
    if data.consultation_id is not None:
        people = room_participants.consultation_participants(
            session=session, consultation_id=data.consultation_id
        )
        if by.id not in people and by.role != Role.ADMIN:
            audit.refused(
                session,
                by,
                object_type="consultation",
                object_id=data.consultation_id,
                patient_id=room_participants.patient_of_consultation(
                    session=session, consultation_id=data.consultation_id
                ),
                reason="creates a room for a consultation it takes no part in",
            )
            raise NotFound(f"consultation {data.consultation_id} not found")
        if not room_participants.has_live_session(
            session=session, consultation_id=data.consultation_id
        ):
            raise NoLiveSession(
                "this consultation's service has no live session", field="consultation_id"
            )
        win = room_participants.session_window(
            session=session, consultation_id=data.consultation_id
        )
        if win is None and starts_at is None and ends_at is None:
            # not scheduled yet: a session now (one open room at a time, below)
            win = (now, now + timedelta(minutes=DEFAULT_SESSION_MINUTES))
            _refuse_second_open_room(
                session=session, consultation_id=data.consultation_id, now=now, settings=settings
            )
        if win is not None:
            starts_at, ends_at = starts_at or win[0], ends_at or win[1]
    if starts_at is None or ends_at is None:
        raise Invalid("starts_at and ends_at are required", field="starts_at")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Invalid("times need a UTC offset", field="starts_at")
    if ends_at <= starts_at:
        raise Invalid("ends_at must be after starts_at", field="ends_at")
    host_id = data.host_id or by.id
    host = session.get(User, host_id)
    hosts: tuple[Role, ...] = (Role.SPECIALIST, Role.COORDINATOR, Role.ADMIN)
    if data.kind == RoomKind.TRAINING:
        hosts = (*hosts, *DOCTOR_ROLES)  # a lecture's presenter: its speaker, any doctor
    if host is None or host.role not in hosts:
        raise Invalid("the host must be a specialist or coordinator", field="host_id")
    mode = topology(session=session, data=data, settings=settings)
    limit = participant_limit(mode=mode, settings=settings)
    max_participants = data.max_participants or limit
    if max_participants > limit:
        raise Invalid(f"a {mode} room takes at most {limit} participants", field="max_participants")
    invited = set(data.invited_user_ids) - {host_id}
    found = set(session.execute(select(User.id).where(col(User.id).in_(invited))).scalars())
    if found != invited:
        raise Invalid("unknown user among invited_user_ids", field="invited_user_ids")
    if (
        data.consultation_id is not None
        and session.execute(
            select(Room.id).where(
                Room.consultation_id == data.consultation_id, Room.starts_at == starts_at
            )
        ).first()
    ):
        raise Conflict("this session already has a room", code="room_exists")
    room = Room(
        kind=data.kind,
        consultation_id=data.consultation_id,
        title=data.title,
        mode=mode,
        max_participants=max_participants,
        host_id=host_id,
        created_by_id=by.id,
        starts_at=starts_at,
        ends_at=ends_at,
        created_at=now,
    )
    session.add(room)
    session.flush()
    for uid in sorted(invited):
        session.add(RoomInvite(room_id=room.id, user_id=uid))
    session.flush()
    audit.record(
        session=session,
        by=by,
        action="create",
        object_type="video_room",
        object_id=room.id,
        patient_id=room_participants.patient_of(session=session, room=room),
        detail={"consultation_id": str(room.consultation_id) if room.consultation_id else None},
        at=now,
    )
    return room


def sfu_configured(settings: VideoSettings) -> bool:
    """Whether this server has Janus (`TELEMED_VIDEO__JANUS_URL` and its admin URL)."""
    return bool(settings.janus_url and settings.janus_admin_url)


def participant_limit(*, mode: str, settings: VideoSettings) -> int:
    """The most participants a room of this topology takes (docs/video.md, Caps)."""
    if mode == RoomMode.JANUS:
        return settings.max_janus_participants
    if mode == RoomMode.RELAY:
        return settings.max_relay_participants
    return settings.max_p2p_participants


def topology(*, session: Session, data: RoomCreate, settings: VideoSettings) -> str:
    """How the room's media flows. Asked for: that one (`janus` needs Janus configured).
    Not asked for: on Janus when configured for lectures, MDT / case discussions and rooms of
    more than two; 1:1 calls, and every room without Janus, peer to peer."""
    if data.mode is not None:
        if data.mode == RoomMode.JANUS and not sfu_configured(settings):
            raise Invalid("this server has no Janus (SFU) configured", field="mode",
                          code="sfu_unavailable")  # fmt: skip
        return data.mode
    if not sfu_configured(settings):
        return RoomMode.P2P
    large = data.kind == RoomKind.TRAINING or (data.max_participants or 2) > 2
    if data.consultation_id is not None and room_participants.is_consultation_mdt(
        session=session, consultation_id=data.consultation_id
    ):
        large = True
    return RoomMode.JANUS if large else RoomMode.P2P


def _refuse_second_open_room(
    *, session: Session, consultation_id: uuid.UUID, now: datetime, settings: VideoSettings
) -> None:
    """409 `room_exists` when a room of the consultation still accepts joins (or will)."""
    for room in session.execute(
        select(Room).where(Room.consultation_id == consultation_id)
    ).scalars():
        if window(room=room, settings=settings)[1] > now:
            raise Conflict("this consultation has an open room", code="room_exists")


def get_room(*, session: Session, room_id: uuid.UUID) -> Room:
    """The room (404 when it does not exist)."""
    room = session.get(Room, room_id)
    if room is None:
        raise NotFound(f"room {room_id} not found")
    return room


def room_for(*, session: Session, room_id: uuid.UUID, user: User) -> Room:
    """A room the user takes part in (admins see all); 404 otherwise."""
    room = session.get(Room, room_id)
    return audit.visible_or_404(
        session,
        user,
        room,
        visible=room is not None
        and (
            user.role == Role.ADMIN
            or user.id in room_participants.participant_ids(session=session, room=room)
        ),
        object_type="video_room",
        ident=room_id,
        label="room",
        patient_id=room_participants.patient_of(session=session, room=room) if room else None,
        reason="not a participant of the room",
    )


def read_room(*, session: Session, room_id: uuid.UUID, user: User, what: str | None = None) -> Room:
    """A room the user takes part in, for display (`what`: events, recordings); audited."""
    room = room_for(session=session, room_id=room_id, user=user)
    audit.read(
        session,
        user,
        object_type="video_room",
        object_id=room.id,
        patient_ids=[room_participants.patient_of(session=session, room=room)],
        what=what,
    )
    return room


def rooms_of_consultation(
    *, session: Session, consultation_id: uuid.UUID, user: User
) -> list[Room]:
    """The rooms of a consultation the user takes part in (admins: all), earliest first."""
    rooms = session.execute(
        select(Room).where(Room.consultation_id == consultation_id).order_by(col(Room.starts_at))
    ).scalars()
    shown = [
        room
        for room in rooms
        if user.role == Role.ADMIN
        or user.id in room_participants.participant_ids(session=session, room=room)
    ]
    audit.read(
        session,
        user,
        object_type="video_room",
        patient_ids=[room_participants.patient_of(session=session, room=r) for r in shown],
        object_ids=[r.id for r in shown],
    )
    return shown


def room_public(*, session: Session, room: Room, settings: VideoSettings) -> RoomPublic:
    """The API shape of a room, with its window and the socket's path."""
    opens_at, closes_at = window(room=room, settings=settings)
    return RoomPublic(
        id=room.id,
        kind=room.kind,
        title=room.title,
        consultation_id=room.consultation_id,
        mode=room.mode,
        max_participants=room.max_participants,
        host_id=room.host_id,
        starts_at=room.starts_at,
        ends_at=room.ends_at,
        opens_at=opens_at,
        closes_at=closes_at,
        status=room.status,
        participant_ids=sorted(room_participants.participant_ids(session=session, room=room)),
        ws_path=f"/api/v1/rooms/{room.id}/ws",
        sfu_configured=sfu_configured(settings),
    )


def locked_room(*, session: Session, room_id: uuid.UUID) -> Room:
    """The room, row-locked (lock order everywhere: the room, then its participants)."""
    return session.execute(select(Room).where(Room.id == room_id).with_for_update()).scalar_one()
