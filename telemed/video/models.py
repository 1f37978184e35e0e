"""Tables of video sessions: rooms, invitations, participants, events, recordings.

A room is one live session (of a consultation, or of a training course). Its
participants come from the consultation (once linked) or from an explicit
invitation list. Everything that happens in a room (join, leave, admission,
consent, chat, recording) is an append-only `RoomEvent`, the session record.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from telemed.core.db import id_field, utc_field


class RoomKind(StrEnum):
    CONSULTATION = "consultation"
    TRAINING = "training"


class RoomMode(StrEnum):
    """How media flows: peer to peer (server only signals), relayed by the server peer, or
    forwarded by Janus (the SFU, when configured: rooms beyond a pair, lectures)."""

    P2P = "p2p"
    RELAY = "relay"
    JANUS = "janus"


class RoomStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


class ParticipantStatus(StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"
    DENIED = "denied"


class RecordingStatus(StrEnum):
    RECORDING = "recording"
    FINISHED = "finished"
    FAILED = "failed"
    PURGED = "purged"


class Room(SQLModel, table=True):
    """A video room for one scheduled session."""

    __tablename__ = "video_room"
    __table_args__ = (
        # One room per scheduled session of a consultation.
        Index(
            "uq_video_room_consultation_session",
            "consultation_id",
            "starts_at",
            unique=True,
        ),
    )

    id: uuid.UUID = id_field()
    kind: str = Field(default=RoomKind.CONSULTATION, max_length=16)
    # No foreign key: consultations is another domain's table (linked by id only).
    consultation_id: uuid.UUID | None = Field(default=None, index=True)
    title: str = Field(max_length=200)
    mode: str = Field(default=RoomMode.P2P, max_length=8)
    max_participants: int = 2
    host_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    created_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    starts_at: datetime = utc_field()
    ends_at: datetime = utc_field()
    status: str = Field(default=RoomStatus.SCHEDULED, max_length=12)
    live_since: datetime | None = utc_field(nullable=True)
    ended_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()


class RoomInvite(SQLModel, table=True):
    """A user explicitly invited to a room (rooms not linked to a consultation)."""

    __tablename__ = "video_room_invite"
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: uuid.UUID = id_field()
    room_id: uuid.UUID = Field(foreign_key="video_room.id", index=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)


class RoomParticipant(SQLModel, table=True):
    """A user's presence in a room: admission, current connection, consent."""

    __tablename__ = "video_room_participant"
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: uuid.UUID = id_field()
    room_id: uuid.UUID = Field(foreign_key="video_room.id", index=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    is_host: bool = False
    status: str = Field(default=ParticipantStatus.WAITING, max_length=12)
    peer_id: str | None = Field(default=None, max_length=40)  # the current socket's id
    connected: bool = False
    first_joined_at: datetime = utc_field()
    last_joined_at: datetime = utc_field()
    last_left_at: datetime | None = utc_field(nullable=True)
    # An admitted participant who dropped keeps admission until then.
    grace_until: datetime | None = utc_field(nullable=True)
    admitted_at: datetime | None = utc_field(nullable=True)
    admitted_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    consent: bool | None = None  # recording consent: None = not asked / not answered
    consent_at: datetime | None = utc_field(nullable=True)
    # A lecture (training room): an attendee's raised hand, and the presenter's leave to speak
    # (that attendee may publish audio until it is taken back).
    hand_raised_at: datetime | None = utc_field(nullable=True)
    may_speak: bool = False


class RoomEvent(SQLModel, table=True):
    """Append-only session record: join, leave, admit, deny, consent, chat, recording."""

    __tablename__ = "video_room_event"

    id: uuid.UUID = id_field()
    room_id: uuid.UUID = Field(foreign_key="video_room.id", index=True, ondelete="CASCADE")
    at: datetime = utc_field(index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    kind: str = Field(max_length=24, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class RecordingCheck(StrEnum):
    """The check of a stopped recording's file against the call (recording_check.py)."""

    OK = "ok"
    SHORT = "short"  # a participant's video or audio covers less than 95 % of the call
    UNREADABLE = "unreadable"


class Recording(SQLModel, table=True):
    """A recorded session file, kept until `retention_until`, readable by `access_user_ids`.

    While it records, the server peer refreshes `heartbeat_at`; a row left `recording`
    by a server that died is found by its old heartbeat (`service.sweep_stale_recordings`).
    """

    __tablename__ = "video_recording"

    id: uuid.UUID = id_field()
    room_id: uuid.UUID = Field(foreign_key="video_room.id", index=True, ondelete="CASCADE")
    consultation_id: uuid.UUID | None = Field(default=None, index=True)
    path: str = Field(max_length=500)
    media_type: str = Field(default="video/mp4", max_length=40)
    status: str = Field(default=RecordingStatus.RECORDING, max_length=12, index=True)
    started_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    started_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)
    duration_seconds: float | None = None
    size_bytes: int | None = None
    retention_until: datetime = utc_field(index=True)
    access_user_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    purged_at: datetime | None = utc_field(nullable=True)
    # Legal hold (法律保全): kept past its retention until released (who, when, why).
    legal_hold_at: datetime | None = utc_field(nullable=True)
    legal_hold_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    legal_hold_reason: str | None = Field(default=None, max_length=500)
    heartbeat_at: datetime | None = utc_field(nullable=True)
    instance: str | None = Field(default=None, max_length=120)  # the recording server process
    error: str | None = Field(default=None, max_length=500)  # why it failed
    # encoder errors, timestamp jumps (logged too), kept as they happen
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    check_status: str | None = Field(default=None, max_length=12)  # RecordingCheck
    # per participant and stream: user_id, kind, seconds, expected_seconds, frames, ok
    check_streams: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    video_seconds: float | None = None  # the shortest video stream of the file
    audio_seconds: float | None = None  # the shortest audio stream of the file


class SignalSpill(SQLModel, table=True):
    """A signaling message too large for a PostgreSQL NOTIFY payload (read once by id)."""

    __tablename__ = "video_signal_spill"

    id: uuid.UUID = id_field()
    payload: str
    created_at: datetime = utc_field(index=True)
