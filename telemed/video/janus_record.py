"""The room's `record` start/stop on Janus (mode `janus`): the socket's side of
`JanusRoomRecorder`.

The host's `{"type": "record", "action": "start"}` in a room on Janus starts a
`JanusRoomRecorder` on the host's worker (consent gate unchanged:
`recordings.start_recording`), kept in that worker's `JanusRooms.recorders` under the room
id; the file is the presenter's (the host's) feed, the publisher id `janus_rooms.feed_id`
gave the host. It stops on the host's `stop`, when someone withdraws consent, when the host
leaves with `bye`, and when the last socket of the room on that worker leaves. A stop asked
on another worker reaches the recorder's worker as the control event `_janus_record_stop`
(every socket of the room gets it; the first to pop the recorder stops it). Everyone learns
each change by the same `recording` message as for the server peer.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx

from telemed.core.errors import Unavailable
from telemed.core.settings import Settings
from telemed.identity.models import User
from telemed.video.hub import Hub
from telemed.video.janus_recording import JanusRoomRecorder
from telemed.video.janus_rooms import feed_id, janus_rooms, room_secret
from telemed.video.models import Recording, RecordingStatus
from telemed.video.server_peer import recording_message
from telemed.video.sfu import JanusError

__all__ = ["STOP_EVENT", "recording_here", "start", "stop", "stopped_message"]

log = logging.getLogger("telemed.video.janus_record")

STOP_EVENT = "_janus_record_stop"  # a control event between workers: {"reason": "…"}


def stopped_message(rec: Recording, *, reason: str) -> dict[str, Any]:
    """The `recording` message (docs/video.md, 6) of a finished or failed row."""
    failed = rec.status == RecordingStatus.FAILED
    return {
        "type": "recording",
        "state": "failed" if failed else "stopped",
        "recording_id": str(rec.id),
        "duration_seconds": rec.duration_seconds,
        "reason": (rec.error or reason) if failed else reason,
        "check_status": rec.check_status,
        "video_seconds": rec.video_seconds,
        "audio_seconds": rec.audio_seconds,
        "streams": list(rec.check_streams or []),
        "warnings": list(rec.warnings or []),
    }


def recording_here(settings: Settings, room_id: str) -> bool:
    """Whether this worker records the room now."""
    return room_id in janus_rooms(settings.video).recorders


async def start(*, hub: Hub, room_id: str, by: User, settings: Settings) -> Recording:
    """Start recording the room's Janus room (refusals raise, as for every recording)."""
    rooms = janus_rooms(settings.video)
    recorder = JanusRoomRecorder(rooms.sfu, settings=settings.video)
    try:
        rec = await recorder.start(
            room_id=uuid.UUID(room_id),
            janus_room=room_id,
            secret=room_secret(settings.video, room_id),
            by=by,
        )
    except (JanusError, httpx.HTTPError) as exc:  # the row was finished as failed
        log.warning("janus room %s: recording not started: %s", room_id, exc)
        raise Unavailable("the media server (Janus) is not reachable",
                          code="sfu_unavailable") from exc  # fmt: skip
    rooms.recorders[room_id] = recorder
    await hub.publish(room_id, recording_message("started", rec.id), audience="everyone")
    return rec


async def stop(
    *, hub: Hub, room_id: str, presenter: uuid.UUID, reason: str, settings: Settings
) -> Recording | None:
    """Stop this worker's recording of the room (None: it records nothing here), build the
    file from the presenter's feed and tell everyone."""
    recorder = janus_rooms(settings.video).recorders.pop(room_id, None)
    if recorder is None:
        return None
    rec = await recorder.stop(
        presenter_feed=feed_id(settings.video, room_id, presenter),
        presenter=presenter,
        reason=reason,
    )
    await hub.publish(room_id, stopped_message(rec, reason=reason), audience="everyone")
    return rec
