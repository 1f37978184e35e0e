"""Rules of video sessions: rooms, admission, consent, chat, recordings.

Every function is keyword-only, flushes and never commits. The signaling socket
calls these in one short transaction per message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.settings import VideoSettings
from telemed.identity.models import Role, User
from telemed.video import participants as room_participants
from telemed.video.models import (
    ParticipantStatus,
    Recording,
    RecordingStatus,
    Room,
    RoomEvent,
    RoomInvite,
    RoomMode,
    RoomParticipant,
    RoomStatus,
)
from telemed.video.schemas import RoomCreate, RoomPublic

ROOM_CREATORS = (Role.COORDINATOR, Role.SPECIALIST, Role.ADMIN)
CHAT_MAX_CHARS = 2000


class RoomClosed(Conflict):
    code, title = "room_closed", "Room not open"


class NotInvited(Forbidden):
    code, title = "not_invited", "Not invited"


@dataclass(frozen=True)
class JoinResult:
    participant: RoomParticipant
    admitted: bool
    replaced_peer: str | None  # an older socket of the same user, to be closed
    recording_id: uuid.UUID | None = None  # a recording running now: the joiner is told


# ---------------------------------------------------------------- rooms


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
        win = room_participants.session_window(
            session=session, consultation_id=data.consultation_id
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
    if host is None or host.role not in (Role.SPECIALIST, Role.COORDINATOR, Role.ADMIN):
        raise Invalid("the host must be a specialist or coordinator", field="host_id")
    limit = (
        settings.max_relay_participants
        if data.mode == RoomMode.RELAY
        else settings.max_p2p_participants
    )
    max_participants = data.max_participants or limit
    if max_participants > limit:
        raise Invalid(
            f"a {data.mode} room takes at most {limit} participants", field="max_participants"
        )
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
        mode=data.mode,
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


def get_room(*, session: Session, room_id: uuid.UUID) -> Room:
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
    )


def events(*, session: Session, room_id: uuid.UUID) -> list[RoomEvent]:
    """The session record of a room, oldest first."""
    return list(
        session.execute(
            select(RoomEvent)
            .where(RoomEvent.room_id == room_id)
            .order_by(col(RoomEvent.at), col(RoomEvent.id))
        ).scalars()
    )


def _event(
    *,
    session: Session,
    room: Room,
    kind: str,
    now: datetime,
    user: User | None = None,
    data: dict[str, Any] | None = None,
    live: bool = False,
) -> RoomEvent:
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


# ---------------------------------------------------------------- presence


def _participant(
    *, session: Session, room_id: uuid.UUID, user_id: uuid.UUID, lock: bool = False
) -> RoomParticipant | None:
    stmt = select(RoomParticipant).where(
        RoomParticipant.room_id == room_id, RoomParticipant.user_id == user_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def _occupied(*, session: Session, room: Room, now: datetime) -> int:
    """Admitted participants connected or inside their reconnection grace."""
    rows = session.execute(
        select(RoomParticipant).where(
            RoomParticipant.room_id == room.id,
            RoomParticipant.status == ParticipantStatus.ADMITTED,
        )
    ).scalars()
    return sum(
        1 for p in rows if p.connected or (p.grace_until is not None and p.grace_until > now)
    )


def join(
    *,
    session: Session,
    room_id: uuid.UUID,
    user: User,
    peer_id: str,
    now: datetime,
    settings: VideoSettings,
) -> JoinResult:
    """A user's socket joins: host and those inside their grace period enter, others wait."""
    room = session.execute(select(Room).where(Room.id == room_id).with_for_update()).scalar_one()
    patient_id = room_participants.patient_of(session=session, room=room)

    def refuse(reason: str) -> NotInvited:
        audit.refused(
            session,
            user,
            object_type="video_room",
            object_id=room.id,
            patient_id=patient_id,
            reason=reason,
        )
        return NotInvited(reason)

    if user.id not in room_participants.participant_ids(session=session, room=room):
        raise refuse("you are not a participant of this room")
    opens_at, closes_at = window(room=room, settings=settings)
    if now < opens_at:
        raise RoomClosed(f"the room opens at {opens_at.isoformat()}")
    if now > closes_at:
        raise RoomClosed(f"the room closed at {closes_at.isoformat()}")
    is_host = user.id == room.host_id
    part = _participant(session=session, room_id=room.id, user_id=user.id, lock=True)
    replaced = None
    if part is None:
        part = RoomParticipant(
            room_id=room.id,
            user_id=user.id,
            is_host=is_host,
            first_joined_at=now,
            last_joined_at=now,
        )
        session.add(part)
    else:
        if part.status == ParticipantStatus.DENIED:
            raise refuse("the host declined your admission to this room")
        if part.connected and part.peer_id != peer_id:
            replaced = part.peer_id
        part.last_joined_at = now
    reconnect = part.status == ParticipantStatus.ADMITTED and (
        part.connected or (part.grace_until is not None and part.grace_until > now)
    )
    if is_host or reconnect:
        if part.status != ParticipantStatus.ADMITTED:
            if not is_host and _occupied(session=session, room=room, now=now) >= (
                room.max_participants
            ):
                raise Conflict("the room is full", code="room_full")
            part.admitted_at = now
        part.status = ParticipantStatus.ADMITTED
    else:
        part.status = ParticipantStatus.WAITING
    part.peer_id = peer_id
    part.connected = True
    part.grace_until = None
    admitted = part.status == ParticipantStatus.ADMITTED
    if admitted and room.status != RoomStatus.LIVE:
        room.status = RoomStatus.LIVE
        room.live_since = room.live_since or now
    session.flush()
    _event(
        session=session,
        room=room,
        kind="join",
        now=now,
        user=user,
        data={"peer": peer_id, "status": part.status, "reconnect": reconnect and not is_host},
        live=admitted,
    )
    session.flush()
    if patient_id is not None:  # joining shows the consultation's room: a read of its patient
        audit.read(
            session, user, object_type="video_room", object_id=room.id, patient_ids=[patient_id],
            what="join",
        )  # fmt: skip
    running = running_recording(session=session, room_id=room.id, now=now, settings=settings)
    return JoinResult(
        participant=part,
        admitted=admitted,
        replaced_peer=replaced,
        recording_id=running.id if running else None,
    )


def leave(
    *,
    session: Session,
    room_id: uuid.UUID,
    user: User,
    peer_id: str,
    now: datetime,
    settings: VideoSettings,
    intentional: bool,
) -> RoomParticipant | None:
    """A socket closed. An admitted participant who dropped keeps admission for a grace period."""
    # Lock order everywhere: the room, then its participants.
    room = session.execute(
        select(Room).where(Room.id == room_id).with_for_update()
    ).scalar_one_or_none()
    if room is None:
        return None
    part = _participant(session=session, room_id=room_id, user_id=user.id, lock=True)
    if part is None or part.peer_id != peer_id or not part.connected:
        return None  # an old, replaced socket
    part.connected = False
    part.last_left_at = now
    reconnecting = part.status == ParticipantStatus.ADMITTED and not intentional
    part.grace_until = (
        now + timedelta(seconds=settings.reconnect_grace_seconds) if reconnecting else None
    )
    if part.status == ParticipantStatus.WAITING or (
        intentional and part.status == ParticipantStatus.ADMITTED and not part.is_host
    ):
        # Leaving on purpose gives the place back; the host admits again on return.
        part.status = ParticipantStatus.WAITING
    session.flush()
    _event(
        session=session,
        room=room,
        kind="leave",
        now=now,
        user=user,
        data={"peer": peer_id, "reconnecting": reconnecting},
    )
    still = session.execute(
        select(RoomParticipant.id).where(
            RoomParticipant.room_id == room_id, col(RoomParticipant.connected).is_(True)
        )
    ).first()
    if still is None and room.status == RoomStatus.LIVE:
        room.status = RoomStatus.ENDED
        room.ended_at = now
        chats = session.execute(
            select(RoomEvent.id).where(RoomEvent.room_id == room_id, RoomEvent.kind == "chat")
        ).all()
        _event(
            session=session,
            room=room,
            kind="session_ended",
            now=now,
            data={"chat_messages": len(chats), "live_since": str(room.live_since)},
        )
    session.flush()
    return part


def _require_host(*, session: Session, room_id: uuid.UUID, by: User) -> Room:
    room = get_room(session=session, room_id=room_id)
    if by.id != room.host_id:
        raise Forbidden("only the host admits or declines participants")
    return room


def admit(
    *, session: Session, room_id: uuid.UUID, by: User, user_id: uuid.UUID, now: datetime
) -> RoomParticipant:
    """The host lets a waiting participant in."""
    room = _require_host(session=session, room_id=room_id, by=by)
    session.execute(select(Room).where(Room.id == room_id).with_for_update()).scalar_one()
    part = _participant(session=session, room_id=room_id, user_id=user_id, lock=True)
    if part is None or part.status != ParticipantStatus.WAITING or not part.connected:
        raise Conflict("that participant is not in the waiting room", code="not_waiting")
    if _occupied(session=session, room=room, now=now) >= room.max_participants:
        raise Conflict(f"the room is full ({room.max_participants} participants)", code="room_full")
    part.status = ParticipantStatus.ADMITTED
    part.admitted_at = now
    part.admitted_by_id = by.id
    if room.status != RoomStatus.LIVE:
        room.status = RoomStatus.LIVE
        room.live_since = room.live_since or now
    session.flush()
    _event(
        session=session,
        room=room,
        kind="admit",
        now=now,
        user=by,
        data={"admitted_user_id": str(user_id)},
        live=True,
    )
    session.flush()
    return part


def deny(
    *, session: Session, room_id: uuid.UUID, by: User, user_id: uuid.UUID, now: datetime
) -> RoomParticipant:
    """The host declines a participant in the waiting room (they cannot rejoin this room).

    Like `admit`, only someone waiting now: a former participant who left is not banned.
    """
    room = _require_host(session=session, room_id=room_id, by=by)
    session.execute(select(Room).where(Room.id == room_id).with_for_update()).scalar_one()
    part = _participant(session=session, room_id=room_id, user_id=user_id, lock=True)
    if part is None or part.status != ParticipantStatus.WAITING or not part.connected:
        raise Conflict("that participant is not in the waiting room", code="not_waiting")
    part.status = ParticipantStatus.DENIED
    session.flush()
    _event(
        session=session, room=room, kind="deny", now=now, user=by, data={"user_id": str(user_id)}
    )
    session.flush()
    return part


def roster(*, session: Session, room_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    """Participants present, waiting, or reconnecting (inside their grace period)."""
    rows = session.execute(
        select(RoomParticipant, User)
        .join(User, col(User.id) == RoomParticipant.user_id)
        .where(RoomParticipant.room_id == room_id)
        .order_by(col(RoomParticipant.first_joined_at))
    ).all()
    out = []
    for part, user in rows:
        if part.connected:
            state = part.status
        elif part.status == ParticipantStatus.ADMITTED and (
            part.grace_until is not None and part.grace_until > now
        ):
            state = "reconnecting"
        else:
            continue
        out.append(
            {
                "peer": part.peer_id,
                "user_id": str(user.id),
                "name": user.full_name,
                "role": user.role,
                "host": part.is_host,
                "state": state,
                "consent": part.consent,
            }
        )
    return out


# ---------------------------------------------------------------- consent and chat


def record_consent(
    *, session: Session, room_id: uuid.UUID, user: User, granted: bool, now: datetime
) -> RoomParticipant:
    """A participant's answer to recording (recorded as an event)."""
    room = session.execute(select(Room).where(Room.id == room_id).with_for_update()).scalar_one()
    part = _participant(session=session, room_id=room_id, user_id=user.id, lock=True)
    if part is None or part.status == ParticipantStatus.DENIED:
        raise Forbidden("only participants in the room answer the recording consent")
    part.consent = granted
    part.consent_at = now
    _event(
        session=session, room=room, kind="consent", now=now, user=user, data={"granted": granted}
    )
    session.flush()
    return part


def add_chat(
    *, session: Session, room_id: uuid.UUID, user: User, text: str, now: datetime
) -> RoomEvent:
    """A chat message, kept in the session record."""
    text = text.strip()
    if not text or len(text) > CHAT_MAX_CHARS:
        raise Invalid(f"chat text must be 1-{CHAT_MAX_CHARS} characters", field="text")
    part = _participant(session=session, room_id=room_id, user_id=user.id)
    if part is None or part.status != ParticipantStatus.ADMITTED:
        raise Forbidden("only admitted participants chat")
    room = get_room(session=session, room_id=room_id)
    ev = RoomEvent(room_id=room.id, at=now, user_id=user.id, kind="chat", data={"text": text})
    session.add(ev)
    session.flush()
    return ev


# ---------------------------------------------------------------- recordings


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
    room = session.execute(select(Room).where(Room.id == room_id).with_for_update()).scalar_one()
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
    _event(
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
    if rec is None or rec.status != RecordingStatus.RECORDING:
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
    rec.status = RecordingStatus.FAILED if failed else RecordingStatus.FINISHED
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
    _event(
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
        rec.status = RecordingStatus.FAILED
        rec.ended_at = last
        rec.error = reason[:500]
        if Path(rec.path).exists():
            rec.size_bytes = Path(rec.path).stat().st_size
        _recording_stopped(session=session, rec=rec, now=now, reason=reason)
        swept.append(rec)
    session.flush()
    return swept


def _may_access(rec: Recording, user: User) -> bool:
    return user.role == Role.ADMIN or str(user.id) in rec.access_user_ids


def recordings_for(*, session: Session, room_id: uuid.UUID, viewer: User) -> list[Recording]:
    """Recordings of a room the viewer is entitled to."""
    rows = session.execute(
        select(Recording)
        .where(Recording.room_id == room_id, Recording.status != RecordingStatus.PURGED)
        .order_by(col(Recording.started_at))
    ).scalars()
    return [r for r in rows if _may_access(r, viewer)]


def open_recording(
    *, session: Session, recording_id: uuid.UUID, viewer: User, now: datetime
) -> Recording:
    """A finished recording the viewer may play; audited. Hidden ones are 404."""
    rec = session.get(Recording, recording_id)
    if rec is not None and rec.status != RecordingStatus.FINISHED:
        rec = None  # not playable: absent for everyone
    room = session.get(Room, rec.room_id) if rec is not None else None
    patient_id = room_participants.patient_of(session=session, room=room) if room else None
    rec = audit.visible_or_404(
        session,
        viewer,
        rec,
        visible=rec is not None and _may_access(rec, viewer),
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
