"""Presence in a room: joining, the waiting room, leaving, the roster, recording consent.

A participant's status moves by `states.PARTICIPANT`; the room goes live and ends by
`states.ROOM`. Functions are keyword-only and only flush; the signaling socket calls
them in one short transaction per message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.errors import Conflict, Forbidden
from telemed.core.settings import VideoSettings
from telemed.identity.models import User
from telemed.video import participants as room_participants
from telemed.video.events import record_event
from telemed.video.models import ParticipantStatus, Room, RoomEvent, RoomKind, RoomParticipant
from telemed.video.recordings import running_recording
from telemed.video.rooms import NotInvited, RoomClosed, locked_room, window
from telemed.video.states import ANSWERS_CONSENT, PARTICIPANT, ROOM

__all__ = [
    "JoinResult",
    "admit",
    "allow_speak",
    "deny",
    "find_participant",
    "join",
    "leave",
    "raise_hand",
    "record_consent",
    "roster",
]


@dataclass(frozen=True)
class JoinResult:
    participant: RoomParticipant
    admitted: bool
    replaced_peer: str | None  # an older socket of the same user, to be closed
    recording_id: uuid.UUID | None = None  # a recording running now: the joiner is told
    room: Room | None = None  # the room row, locked and loaded by the join


def find_participant(
    *, session: Session, room_id: uuid.UUID, user_id: uuid.UUID, lock: bool = False
) -> RoomParticipant | None:
    """A user's participant row in a room (row-locked with `lock`), None before they joined."""
    stmt = select(RoomParticipant).where(
        RoomParticipant.room_id == room_id, RoomParticipant.user_id == user_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def _holds_place(part: RoomParticipant, now: datetime) -> bool:
    """Connected, or inside the reconnection grace of a dropped connection."""
    return part.connected or (part.grace_until is not None and part.grace_until > now)


def _occupied(*, session: Session, room: Room, now: datetime) -> int:
    """Admitted participants connected or inside their reconnection grace."""
    rows = session.execute(
        select(RoomParticipant).where(
            RoomParticipant.room_id == room.id,
            RoomParticipant.status == ParticipantStatus.ADMITTED,
        )
    ).scalars()
    return sum(1 for p in rows if _holds_place(p, now))


def _go_live(room: Room, now: datetime) -> None:
    """Someone admitted is in: the room is live (from its first admission on)."""
    if "go_live" in ROOM.allowed(room.status):
        room.status = ROOM.next(room.status, "go_live")
        room.live_since = room.live_since or now


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
    room = locked_room(session=session, room_id=room_id)
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
    part = find_participant(session=session, room_id=room.id, user_id=user.id, lock=True)
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
        if not PARTICIPANT.allowed(part.status):  # declined: no way back into this room
            raise refuse("the host declined your admission to this room")
        if part.connected and part.peer_id != peer_id:
            replaced = part.peer_id
        part.last_joined_at = now
    reconnect = part.status == ParticipantStatus.ADMITTED and _holds_place(part, now)
    # A lecture's attendees enter directly: their enrolment is the admission.
    enters = is_host or reconnect or room.kind == RoomKind.TRAINING
    if enters and "admit" in PARTICIPANT.allowed(part.status):  # not admitted yet
        if not is_host and _occupied(session=session, room=room, now=now) >= (
            room.max_participants
        ):
            raise Conflict("the room is full", code="room_full")
        part.admitted_at = now
    part.status = PARTICIPANT.next(part.status, "enter" if enters else "wait")
    part.peer_id = peer_id
    part.connected = True
    part.grace_until = None
    admitted = part.status == ParticipantStatus.ADMITTED
    if admitted:
        _go_live(room, now)
    session.flush()
    if admitted:
        room_participants.presence(session=session, room=room, user_id=user.id, event="join",
                                   now=now)  # fmt: skip
    record_event(
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
        room=room,
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
    part = find_participant(session=session, room_id=room_id, user_id=user.id, lock=True)
    if part is None or part.peer_id != peer_id or not part.connected:
        return None  # an old, replaced socket
    was_admitted = part.status == ParticipantStatus.ADMITTED
    part.connected = False
    part.last_left_at = now
    part.hand_raised_at = None
    part.may_speak = False
    reconnecting = part.status == ParticipantStatus.ADMITTED and not intentional
    part.grace_until = (
        now + timedelta(seconds=settings.reconnect_grace_seconds) if reconnecting else None
    )
    if intentional and not part.is_host and "wait" in PARTICIPANT.allowed(part.status):
        # Leaving on purpose gives the place back; the host admits again on return.
        part.status = PARTICIPANT.next(part.status, "wait")
    session.flush()
    record_event(
        session=session,
        room=room,
        kind="leave",
        now=now,
        user=user,
        data={"peer": peer_id, "reconnecting": reconnecting},
    )
    if was_admitted:
        room_participants.presence(session=session, room=room, user_id=user.id, event="leave",
                                   now=now)  # fmt: skip
    still = session.execute(
        select(RoomParticipant.id).where(
            RoomParticipant.room_id == room_id, col(RoomParticipant.connected).is_(True)
        )
    ).first()
    if still is None and "end" in ROOM.allowed(room.status):
        room.status = ROOM.next(room.status, "end")
        room.ended_at = now
        chats = session.execute(
            select(RoomEvent.id).where(RoomEvent.room_id == room_id, RoomEvent.kind == "chat")
        ).all()
        record_event(
            session=session,
            room=room,
            kind="session_ended",
            now=now,
            data={"chat_messages": len(chats), "live_since": str(room.live_since)},
        )
    session.flush()
    return part


def _waiting(
    *, session: Session, room_id: uuid.UUID, by: User, user_id: uuid.UUID, action: str
) -> tuple[Room, RoomParticipant]:
    """The host's `action` (admit, deny) on someone waiting now, both rows locked.

    Only someone connected and in the waiting room: a former participant who left is not
    banned, nor let in behind the host's back.
    """
    room = locked_room(session=session, room_id=room_id)  # one read: locked, then checked
    if by.id != room.host_id:
        raise Forbidden("only the host admits or declines participants")
    part = find_participant(session=session, room_id=room_id, user_id=user_id, lock=True)
    if part is None or not part.connected or action not in PARTICIPANT.allowed(part.status):
        raise Conflict("that participant is not in the waiting room", code="not_waiting")
    return room, part


def admit(
    *, session: Session, room_id: uuid.UUID, by: User, user_id: uuid.UUID, now: datetime
) -> RoomParticipant:
    """The host lets a waiting participant in."""
    room, part = _waiting(session=session, room_id=room_id, by=by, user_id=user_id, action="admit")
    if _occupied(session=session, room=room, now=now) >= room.max_participants:
        raise Conflict(f"the room is full ({room.max_participants} participants)", code="room_full")
    part.status = PARTICIPANT.next(part.status, "admit")
    part.admitted_at = now
    part.admitted_by_id = by.id
    _go_live(room, now)
    session.flush()
    room_participants.presence(session=session, room=room, user_id=user_id, event="join", now=now)
    record_event(
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
    """The host declines a participant in the waiting room (they cannot rejoin this room)."""
    room, part = _waiting(session=session, room_id=room_id, by=by, user_id=user_id, action="deny")
    part.status = PARTICIPANT.next(part.status, "deny")
    session.flush()
    record_event(
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
        elif part.status == ParticipantStatus.ADMITTED and _holds_place(part, now):
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
                # a lecture: the raised hand (since when) and the leave to speak
                "hand": part.hand_raised_at.isoformat() if part.hand_raised_at else None,
                "speaking": part.may_speak,
            }
        )
    return out


def raise_hand(
    *, session: Session, room_id: uuid.UUID, user: User, raised: bool, now: datetime
) -> RoomParticipant:
    """An admitted attendee raises (or lowers) their hand."""
    locked_room(session=session, room_id=room_id)
    part = find_participant(session=session, room_id=room_id, user_id=user.id, lock=True)
    if part is None or part.status != ParticipantStatus.ADMITTED:
        raise Forbidden("only participants in the room raise a hand", code="not_admitted")
    part.hand_raised_at = (part.hand_raised_at or now) if raised else None
    session.flush()
    return part


def allow_speak(
    *, session: Session, room_id: uuid.UUID, by: User, user_id: uuid.UUID, allowed: bool,
    now: datetime,
) -> RoomParticipant:  # fmt: skip
    """The host lets one attendee speak (the one before loses it), or takes it back."""
    room = locked_room(session=session, room_id=room_id)
    if by.id != room.host_id:
        raise Forbidden("only the host lets an attendee speak")
    part = find_participant(session=session, room_id=room_id, user_id=user_id, lock=True)
    if part is None or part.status != ParticipantStatus.ADMITTED or not part.connected:
        raise Conflict("that attendee is not in the room", code="not_in_room")
    if allowed:
        for other in session.execute(
            select(RoomParticipant).where(
                RoomParticipant.room_id == room_id, col(RoomParticipant.may_speak).is_(True)
            )
        ).scalars():
            other.may_speak = False
        part.hand_raised_at = None
    part.may_speak = allowed
    session.flush()
    record_event(session=session, room=room, kind="speak", now=now, user=by,
                 data={"user_id": str(user_id), "allowed": allowed})  # fmt: skip
    session.flush()
    return part


def record_consent(
    *, session: Session, room_id: uuid.UUID, user: User, granted: bool, now: datetime
) -> RoomParticipant:
    """A participant's answer to recording (recorded as an event)."""
    room = locked_room(session=session, room_id=room_id)
    part = find_participant(session=session, room_id=room_id, user_id=user.id, lock=True)
    if part is None or part.status not in ANSWERS_CONSENT:
        raise Forbidden("only participants in the room answer the recording consent")
    part.consent = granted
    part.consent_at = now
    record_event(
        session=session, room=room, kind="consent", now=now, user=user, data={"granted": granted}
    )
    session.flush()
    return part
