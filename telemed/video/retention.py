"""Retention of the session record: recordings and chat are deleted after their period
(national minimums in telemed.core.settings), unless a recording is under legal hold.

Every deletion is audited (the audit row keeps what was deleted, without its content).
"""

from __future__ import annotations

import logging
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.errors import Conflict, Invalid, NotFound
from telemed.identity.models import User
from telemed.video.models import Recording, RecordingStatus, RoomEvent

__all__ = [
    "place_legal_hold",
    "purge_expired_chat",
    "purge_expired_recordings",
    "release_legal_hold",
]

log = logging.getLogger("telemed.video.retention")


def purge_expired_recordings(*, session: Session, now: datetime) -> list[uuid.UUID]:
    """Delete file and row of every ended recording past `retention_until` and not under
    legal hold; return their ids. A file already gone is no error; one that cannot be
    removed keeps its row for the next run."""
    rows = list(
        session.execute(
            select(Recording)
            .where(
                col(Recording.retention_until) <= now,
                col(Recording.status).in_(
                    [RecordingStatus.FINISHED, RecordingStatus.FAILED, RecordingStatus.PURGED]
                ),
                col(Recording.legal_hold_at).is_(None),
            )
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    purged = []
    for rec in rows:
        try:
            if rec.path:
                Path(rec.path).unlink(missing_ok=True)
                # what Janus left of a recording whose server died before converting it
                shutil.rmtree(Path(rec.path).with_suffix(".mjr"), ignore_errors=True)
        except OSError as exc:
            log.warning("recording file not removed", extra={"id": str(rec.id), "error": str(exc)})
            continue
        audit.record(
            session=session,
            actor_id=None,
            actor_role="system",
            action="purge",
            object_type="video_recording",
            object_id=rec.id,
            at=now,
            detail={
                "room_id": str(rec.room_id),
                "consultation_id": str(rec.consultation_id) if rec.consultation_id else None,
                "started_at": rec.started_at.isoformat(),
                "retention_until": rec.retention_until.isoformat(),
                "duration_seconds": rec.duration_seconds,
                "size_bytes": rec.size_bytes,
                "reason": "retention period ended",
            },
        )
        purged.append(rec.id)
        session.delete(rec)
    session.flush()
    return purged


def _held_rooms():  # type: ignore[no-untyped-def]
    return select(Recording.room_id).where(col(Recording.legal_hold_at).is_not(None))


def purge_expired_chat(*, session: Session, now: datetime, days: int) -> int:
    """Delete chat messages older than `days` (rooms with a recording under legal hold keep
    theirs); one audit row per room."""
    cutoff = now - timedelta(days=days)
    expired = col(RoomEvent.kind) == "chat", col(RoomEvent.at) < cutoff
    per_room: dict[uuid.UUID, int] = {}
    for (room_id,) in session.execute(
        select(RoomEvent.room_id).where(*expired, col(RoomEvent.room_id).not_in(_held_rooms()))
    ).all():
        per_room[room_id] = per_room.get(room_id, 0) + 1
    for room_id, n in per_room.items():
        session.execute(delete(RoomEvent).where(*expired, col(RoomEvent.room_id) == room_id))
        audit.record(
            session=session,
            actor_id=None,
            actor_role="system",
            action="purge",
            object_type="video_chat",
            object_id=room_id,
            at=now,
            detail={"messages": n, "older_than": cutoff.isoformat()},
        )
    session.flush()
    return sum(per_room.values())


def _recording(session: Session, recording_id: uuid.UUID) -> Recording:
    rec = session.execute(
        select(Recording).where(Recording.id == recording_id).with_for_update()
    ).scalar_one_or_none()
    if rec is None:
        raise NotFound(f"recording {recording_id} not found")
    return rec


def place_legal_hold(
    *,
    session: Session,
    recording_id: uuid.UUID,
    by: User,
    reason: str,
    ip: str | None,
    now: datetime,
) -> Recording:
    """Keep a recording past its retention until the hold is released; audited."""
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise Invalid("a legal hold needs a reason of 1-500 characters", field="reason")
    rec = _recording(session, recording_id)
    if rec.legal_hold_at is not None:
        raise Conflict("the recording is already under legal hold", code="already_on_hold")
    rec.legal_hold_at, rec.legal_hold_by_id, rec.legal_hold_reason = now, by.id, reason
    audit.record(
        session=session,
        actor_id=by.id,
        actor_role=by.role,
        action="legal_hold",
        object_type="video_recording",
        object_id=rec.id,
        ip=ip,
        at=now,
        detail={"reason": reason},
    )
    session.flush()
    return rec


def release_legal_hold(
    *, session: Session, recording_id: uuid.UUID, by: User, ip: str | None, now: datetime
) -> Recording:
    """End a legal hold: the recording follows its retention again; audited."""
    rec = _recording(session, recording_id)
    if rec.legal_hold_at is None:
        raise Conflict("the recording is not under legal hold", code="not_on_hold")
    audit.record(
        session=session,
        actor_id=by.id,
        actor_role=by.role,
        action="legal_hold_release",
        object_type="video_recording",
        object_id=rec.id,
        ip=ip,
        at=now,
        detail={
            "held_since": rec.legal_hold_at.isoformat(),
            "held_by": str(rec.legal_hold_by_id),
            "reason": rec.legal_hold_reason,
        },
    )
    rec.legal_hold_at, rec.legal_hold_by_id, rec.legal_hold_reason = None, None, None
    session.flush()
    return rec
