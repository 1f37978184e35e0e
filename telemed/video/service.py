"""Rules of video sessions: the façade other domains, the socket and the API import.

    rooms.py       rooms, their joining window, who sees which room
    presence.py    joining, the waiting room, leaving, the roster, recording consent
    chat.py        chat messages of the session record
    recordings.py  recordings: start, heartbeat, finish, the stale sweep, who may play
    events.py      the session record (append-only events)
    states.py      the states of rooms, participants and recordings as data

Every function is keyword-only, flushes and never commits. The signaling socket
calls these in one short transaction per message.
"""

from __future__ import annotations

from telemed.video.chat import CHAT_MAX_CHARS, add_chat
from telemed.video.events import events
from telemed.video.participants import register_kind
from telemed.video.presence import (
    JoinResult,
    admit,
    allow_speak,
    deny,
    find_participant,
    join,
    leave,
    raise_hand,
    record_consent,
    roster,
)
from telemed.video.recordings import (
    consent_state,
    finish_recording,
    open_recording,
    recording_heartbeat,
    recordings_for,
    running_recording,
    start_recording,
    sweep_stale_recordings,
)
from telemed.video.rooms import (
    DEFAULT_SESSION_MINUTES,
    ROOM_CREATORS,
    NoLiveSession,
    NotInvited,
    RoomClosed,
    create_room,
    get_room,
    participant_limit,
    read_room,
    room_for,
    room_public,
    rooms_of_consultation,
    topology,
    window,
)

__all__ = [
    "CHAT_MAX_CHARS",
    "DEFAULT_SESSION_MINUTES",
    "ROOM_CREATORS",
    "JoinResult",
    "NoLiveSession",
    "NotInvited",
    "RoomClosed",
    "add_chat",
    "admit",
    "allow_speak",
    "consent_state",
    "create_room",
    "deny",
    "events",
    "find_participant",
    "finish_recording",
    "get_room",
    "join",
    "participant_limit",
    "leave",
    "open_recording",
    "raise_hand",
    "read_room",
    "record_consent",
    "recording_heartbeat",
    "recordings_for",
    "register_kind",
    "room_for",
    "room_public",
    "rooms_of_consultation",
    "roster",
    "running_recording",
    "start_recording",
    "topology",
    "sweep_stale_recordings",
    "window",
]
