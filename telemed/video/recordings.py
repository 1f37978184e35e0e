"""Recordings of a room: consent, start, heartbeat, finish, the stale sweep, who may play.

A recording's status moves by `states.RECORDING`; the server peer (server_peer.py)
drives it. Functions are keyword-only and only flush.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.errors import Conflict, Forbidden, NotFound
from telemed.core.settings import VideoSettings
from telemed.identity.models import Role, User
from telemed.video import participants as room_participants
from telemed.video.events import record_event
from telemed.video.models import (
    ParticipantStatus,
    Recording,
    RecordingStatus,
    Room,
    RoomParticipant,
)
from telemed.video.rooms import get_room, locked_room
from telemed.video.states import PLAYABLE, RECORDING

__all__ = [
    "consent_state",
    "finish_recording",
    "open_recording",
    "recording_heartbeat",
    "recordings_for",
    "running_recording",
    "start_recording",
    "sweep_stale_recordings",
]


def consent_state(*, session: Session, room_id: uuid.UUID) -> dict[str, list[str]]:
    """Admitted, connected participants grouped by their consent answer."""
    rows = session.execute(
        select(RoomParticipant).where(
            RoomParticipant.room_id == room_id,
            RoomParticipant.status == ParticipantStatus.ADMITTED,
            col(RoomParticipant.connected).is_(True),
        )
    ).scalars()
    out: dict[str, list[str]] = {"granted": [], "refused": [], "missing": []}
    for p in rows:
        key = "granted" if p.consent is True else "refused" if p.consent is False else "missing"
        out[key].append(str(p.user_id))
    return out


def start_recording(
    *, session: Session, room_id: uuid.UUID, by: User, now: datetime, settings: VideoSettings
) -> Recording:
    """Open a recording; refused unless every participant in the room has consented."""
    room = locked_room(session=session, room_id=room_id)
    if by.id != room.host_id:
        raise Forbidden("only the host starts a recording")
    if running_recording(session=session, room_id=room_id, now=now, settings=settings):
        raise Conflict("a recording is already running", code="recording_active")
    consent = consent_state(session=session, room_id=room_id)
    if consent["refused"]:
        raise Conflict(
            "a participant refused recording", code="consent_refused", users=consent["refused"]
        )
    if consent["missing"]:
        raise Conflict(
            "every participant must consent before recording",
            code="consent_required",
            users=consent["missing"],
        )
    if len(consent["granted"]) < 2:
        raise Conflict("nobody else is in the room to record", code="nothing_to_record")
    rec = Recording(
        room_id=room.id,
        consultation_id=room.consultation_id,
        path="",
        started_by_id=by.id,
        started_at=now,
        heartbeat_at=now,
        retention_until=now + timedelta(days=settings.recording_retention_days),
        access_user_ids=sorted(
            str(u) for u in room_participants.participant_ids(session=session, room=room)
        ),
    )
    session.add(rec)
    session.flush()
    directory = Path(settings.recordings_dir) / str(room.id)
    rec.path = str(directory / f"{rec.id}.mp4")
    record_event(
        session=session,
        room=room,
        kind="recording_started",
        now=now,
        user=by,
        data={"recording_id": str(rec.id), "consented": consent["granted"]},
    )
    session.flush()
    return rec


def running_recording(
    *, session: Session, room_id: uuid.UUID, now: datetime, settings: VideoSettings
) -> Recording | None:
    """The recording running in a room now: `recording`, with a heartbeat still fresh."""
    fresh_since = now - timedelta(seconds=settings.recording_stale_seconds)
    rows = session.execute(
        select(Recording)
        .where(Recording.room_id == room_id, Recording.status == RecordingStatus.RECORDING)
        .order_by(col(Recording.started_at).desc())
    ).scalars()
    for rec in rows:
        if (rec.heartbeat_at or rec.started_at) >= fresh_since:
            return rec
    return None


def recording_heartbeat(
    *,
    session: Session,
    recording_id: uuid.UUID,
    now: datetime,
    instance: str | None = None,
    warnings: list[str] | None = None,
) -> Recording | None:
    """The server peer is still recording: refresh the heartbeat (and the warnings so far).

    None when the row is no longer `recording` (swept as stale meanwhile, or finished).
    """
    rec = session.get(Recording, recording_id, with_for_update=True)
    if rec is None or "beat" not in RECORDING.allowed(rec.status):
        return None
    rec.heartbeat_at = now
    if instance is not None:
        rec.instance = instance
    if warnings is not None and warnings != rec.warnings:
        rec.warnings = list(warnings)
    session.flush()
    return rec


def finish_recording(
    *,
    session: Session,
    recording_id: uuid.UUID,
    now: datetime,
    duration_seconds: float | None,
    size_bytes: int | None,
    failed: bool = False,
    reason: str | None = None,
    check_status: str | None = None,
    check_streams: list[dict[str, Any]] | None = None,
    video_seconds: float | None = None,
    audio_seconds: float | None = None,
    warnings: list[str] | None = None,
) -> Recording:
    """Close a recording with its probed duration and the check of its file."""
    rec = session.get(Recording, recording_id, with_for_update=True)
    if rec is None:
        raise NotFound(f"recording {recording_id} not found")
    rec.status = RECORDING.next(rec.status, "fail" if failed else "finish")
    rec.ended_at = now
    rec.duration_seconds = duration_seconds
    rec.size_bytes = size_bytes
    rec.error = (reason or "failed")[:500] if failed else None
    rec.check_status = check_status
    rec.check_streams = list(check_streams or [])
    rec.video_seconds, rec.audio_seconds = video_seconds, audio_seconds
    if warnings is not None:
        rec.warnings = list(warnings)
    _recording_stopped(session=session, rec=rec, now=now, reason=reason)
    session.flush()
    return rec


def _recording_stopped(
    *, session: Session, rec: Recording, now: datetime, reason: str | None
) -> None:
    """The session record's entry for a recording that ended (finished, failed or swept)."""
    record_event(
        session=session,
        room=get_room(session=session, room_id=rec.room_id),
        kind="recording_stopped",
        now=now,
        data={
            "recording_id": str(rec.id),
            "duration_seconds": rec.duration_seconds,
            "status": rec.status,
            "reason": reason,
            "check_status": rec.check_status,
        },
    )


def sweep_stale_recordings(
    *, session: Session, now: datetime, settings: VideoSettings
) -> list[Recording]:
    """Fail recordings left `recording` by a server that died (idempotent; a periodic task).

    A running recording's server peer refreshes `heartbeat_at` every
    `recording_heartbeat_seconds`; one silent for more than `recording_stale_seconds` is
    marked `failed` with the reason, ended at its last heartbeat, and recorded in the room's
    session record. Joiners are no longer told it runs (they are not from the moment it is
    stale: `running_recording`). Its file, probably unplayable, is purged with retention.
    """
    cutoff = now - timedelta(seconds=settings.recording_stale_seconds)
    rows = session.execute(
        select(Recording)
        .where(Recording.status == RecordingStatus.RECORDING)
        .order_by(col(Recording.started_at))
        .with_for_update(skip_locked=True)
    ).scalars()
    swept = []
    for rec in rows:
        last = rec.heartbeat_at or rec.started_at
        if last >= cutoff:
            continue
        where = f" on {rec.instance}" if rec.instance else ""
        reason = f"the recording server{where} stopped: no heartbeat since {last.isoformat()}"
        rec.status = RECORDING.next(rec.status, "go_stale")
        rec.ended_at = last
        rec.error = reason[:500]
        if Path(rec.path).exists():
            rec.size_bytes = Path(rec.path).stat().st_size
        _recording_stopped(session=session, rec=rec, now=now, reason=reason)
        swept.append(rec)
    session.flush()
    return swept


def _may_access(session: Session, rec: Recording, user: User, room: Room | None = None) -> bool:
    """Admins; for a room kind with a rule of its own (a lecture: its course's enrolled,
    speaker and managers) that rule; else the room's participants at the recording's start."""
    if user.role == Role.ADMIN:
        return True
    room = room or session.get(Room, rec.room_id)
    own_rule = None
    if room is not None:
        own_rule = room_participants.recording_viewer(session=session, room=room, user_id=user.id)
    return own_rule if own_rule is not None else str(user.id) in rec.access_user_ids


def recordings_for(*, session: Session, room_id: uuid.UUID, viewer: User) -> list[Recording]:
    """Recordings of a room the viewer is entitled to."""
    rows = session.execute(
        select(Recording)
        .where(Recording.room_id == room_id, Recording.status != RecordingStatus.PURGED)
        .order_by(col(Recording.started_at))
    ).scalars()
    return [r for r in rows if _may_access(session, r, viewer)]


def open_recording(
    *, session: Session, recording_id: uuid.UUID, viewer: User, now: datetime
) -> Recording:
    """A finished recording the viewer may play; audited. Hidden ones are 404."""
    rec = session.get(Recording, recording_id)
    if rec is not None and rec.status not in PLAYABLE:
        rec = None  # not playable: absent for everyone
    room = session.get(Room, rec.room_id) if rec is not None else None
    patient_id = room_participants.patient_of(session=session, room=room) if room else None
    rec = audit.visible_or_404(
        session,
        viewer,
        rec,
        visible=rec is not None and _may_access(session, rec, viewer, room),
        object_type="video_recording",
        ident=recording_id,
        label="recording",
        patient_id=patient_id,
        reason="not among the recording's viewers",
    )
    audit.read(
        session,
        viewer,
        object_type="video_recording",
        object_id=rec.id,
        patient_ids=[patient_id],
        at=now,
    )
    return rec
