"""Routes of video sessions: rooms, ICE servers, session record, recordings, signaling socket."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, Query, WebSocket
from fastapi.responses import FileResponse

from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.settings import get_settings
from telemed.identity.deps import CurrentUser
from telemed.video import service, turn
from telemed.video.schemas import (
    IceServersPublic,
    RecordingPublic,
    RoomCreate,
    RoomEventPublic,
    RoomPublic,
)
from telemed.video.signaling import SocketSession

router = APIRouter(prefix="/api/v1", tags=["video"])


@router.post("/rooms", response_model=RoomPublic, status_code=201)
def create_room(
    data: RoomCreate, session: SessionDep, user: CurrentUser, now: NowDep, settings: SettingsDep
) -> RoomPublic:
    """Create the room of a scheduled session (coordinators and specialists)."""
    room = service.create_room(
        session=session, data=data, by=user, now=now, settings=settings.video
    )
    return service.room_public(session=session, room=room, settings=settings.video)


@router.get("/rooms", response_model=list[RoomPublic])
def list_rooms(
    consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> list[RoomPublic]:
    """The rooms of a consultation that the caller takes part in (to join from its page)."""
    rooms = service.rooms_of_consultation(
        session=session, consultation_id=consultation_id, user=user
    )
    return [service.room_public(session=session, room=r, settings=settings.video) for r in rooms]


@router.get("/rooms/{room_id}", response_model=RoomPublic)
def get_room(
    room_id: uuid.UUID, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> RoomPublic:
    """A room the caller takes part in."""
    room = service.read_room(session=session, room_id=room_id, user=user)
    return service.room_public(session=session, room=room, settings=settings.video)


@router.get("/rooms/{room_id}/ice-servers", response_model=IceServersPublic)
def ice_servers(
    room_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep, settings: SettingsDep
) -> IceServersPublic:
    """STUN/TURN servers with time-limited TURN credentials (coturn shared secret)."""
    service.room_for(session=session, room_id=room_id, user=user)
    return turn.ice_servers(settings=settings.video, user_id=str(user.id), now=now)


@router.get("/rooms/{room_id}/events", response_model=list[RoomEventPublic])
def room_events(
    room_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> list[RoomEventPublic]:
    """The session record: joins, leaves, admissions, consent, chat, recordings."""
    service.read_room(session=session, room_id=room_id, user=user, what="events")
    return [
        RoomEventPublic.model_validate(e, from_attributes=True)
        for e in service.events(session=session, room_id=room_id)
    ]


@router.get("/rooms/{room_id}/recordings", response_model=list[RecordingPublic])
def room_recordings(
    room_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> list[RecordingPublic]:
    """Recordings of the room the caller is entitled to."""
    service.read_room(session=session, room_id=room_id, user=user, what="recordings")
    return [
        RecordingPublic.model_validate(r, from_attributes=True)
        for r in service.recordings_for(session=session, room_id=room_id, viewer=user)
    ]


@router.get("/recordings/{recording_id}/file")
def recording_file(
    recording_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep
) -> FileResponse:
    """The recorded file (audited; hidden recordings are 404)."""
    rec = service.open_recording(session=session, recording_id=recording_id, viewer=user, now=now)
    return FileResponse(rec.path, media_type=rec.media_type, filename=Path(rec.path).name)


@router.websocket("/rooms/{room_id}/ws")
async def room_socket(
    websocket: WebSocket, room_id: str, token: str | None = Query(default=None)
) -> None:
    """Signaling socket of a room; see docs/video.md for the protocol."""
    await SocketSession(websocket, room_id, get_settings()).run(token)
