"""API shapes of video sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from telemed.video.models import RoomKind, RoomMode


class RoomCreate(BaseModel):
    """A room for one scheduled session.

    With `consultation_id` (once consultations is linked) the participants and the
    session window come from the consultation; otherwise `invited_user_ids`,
    `starts_at` and `ends_at` are required.
    """

    kind: RoomKind = RoomKind.CONSULTATION
    title: str = Field(min_length=1, max_length=200)
    consultation_id: uuid.UUID | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    invited_user_ids: list[uuid.UUID] = []
    host_id: uuid.UUID | None = None
    # p2p | relay | janus; unset: chosen by the server (rooms.topology, docs/video.md)
    mode: RoomMode | None = None
    max_participants: int | None = Field(default=None, ge=2)


class RoomPublic(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    consultation_id: uuid.UUID | None
    mode: str
    max_participants: int
    host_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    opens_at: datetime
    closes_at: datetime
    status: str
    participant_ids: list[uuid.UUID]
    ws_path: str
    # whether this server has Janus: without it, rooms run p2p (browser mesh) or relay
    sfu_configured: bool = False


class IceServer(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceServersPublic(BaseModel):
    ice_servers: list[IceServer]
    ttl_seconds: int
    expires_at: datetime | None


class RoomEventPublic(BaseModel):
    id: uuid.UUID
    at: datetime
    user_id: uuid.UUID | None
    kind: str
    data: dict[str, Any]


class RecordingPublic(BaseModel):
    id: uuid.UUID
    room_id: uuid.UUID
    consultation_id: uuid.UUID | None
    media_type: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    size_bytes: int | None
    retention_until: datetime
    heartbeat_at: datetime | None = None
    error: str | None = None  # why it failed (a stale one: the server stopped)
    warnings: list[str] = []
    # the check of the stopped file: ok | short | unreadable, and per participant stream
    check_status: str | None = None
    check_streams: list[dict[str, Any]] = []
    video_seconds: float | None = None
    audio_seconds: float | None = None
