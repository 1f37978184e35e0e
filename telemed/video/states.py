"""The states of rooms, participants and recordings as data (applied by telemed.core.states).

    room:        scheduled -> live -> ended -> live (joins again inside its window)
    participant: waiting -> admitted -> waiting (left on purpose, or grace ran out)
                 waiting -> denied (final: no way back into that room)
    recording:   recording -> finished | failed

Guards without a move (who may chat, answer consent, play a file) are sets of states.
The services raise their own refusals (`not_waiting`, `forbidden` ...) when a table says
no, so the codes and answers of the API and the socket stay theirs.
"""

from __future__ import annotations

from telemed.core.states import StateMachine
from telemed.video.models import ParticipantStatus, RecordingStatus, RoomStatus

__all__ = [
    "ANSWERS_CONSENT",
    "CHATS",
    "PARTICIPANT",
    "PLAYABLE",
    "RECORDING",
    "ROOM",
]

ROOM = StateMachine(
    "room",
    {
        # someone admitted is in: the session is live (again, after it ended)
        "go_live": ({RoomStatus.SCHEDULED, RoomStatus.ENDED}, RoomStatus.LIVE),
        # the last socket left
        "end": ({RoomStatus.LIVE}, RoomStatus.ENDED),
    },
)

_IN_ROOM = {ParticipantStatus.WAITING, ParticipantStatus.ADMITTED}
PARTICIPANT = StateMachine(
    "participant",
    {
        # the host, or an admitted participant inside its grace, enters on joining
        "enter": (_IN_ROOM, ParticipantStatus.ADMITTED),
        # joining without admission, or leaving on purpose: the place is given back
        "wait": (_IN_ROOM, ParticipantStatus.WAITING),
        # the host's answers to someone in the waiting room
        "admit": ({ParticipantStatus.WAITING}, ParticipantStatus.ADMITTED),
        "deny": ({ParticipantStatus.WAITING}, ParticipantStatus.DENIED),
    },
)
CHATS = frozenset({ParticipantStatus.ADMITTED})
ANSWERS_CONSENT = frozenset(_IN_ROOM)

_ENDING = {RecordingStatus.RECORDING, RecordingStatus.FINISHED, RecordingStatus.FAILED}
RECORDING = StateMachine(
    "recording",
    {
        # the server peer still records (a swept one is not revived)
        "beat": ({RecordingStatus.RECORDING}, RecordingStatus.RECORDING),
        # the server peer's verdict on the file stands, even over a sweep that found it silent
        "finish": (_ENDING, RecordingStatus.FINISHED),
        "fail": (_ENDING, RecordingStatus.FAILED),
        # no heartbeat any more: its server died
        "go_stale": ({RecordingStatus.RECORDING}, RecordingStatus.FAILED),
    },
)
PLAYABLE = frozenset({RecordingStatus.FINISHED})
