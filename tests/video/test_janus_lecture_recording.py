"""A lecture on Janus recorded from the room: the socket's `record`, one WebM, on demand.

The speaker opens the lecture's room (`POST /training/courses/{id}/room`, mode `janus`),
publishes through Janus with the token the app handed out: an aiortc camera whose frames
are captured on a jittered clock and a 440 Hz tone. An enrolled doctor watches. The
presenter's `record start` is refused until everyone in the room consented; then the app
records through Janus for about 4 s and `record stop` gives one WebM that ffprobe reads. It
is listed for the course, played by an enrolled doctor and the course's coordinator, and
hidden (404) from a doctor who is not enrolled, in the list and as a file. A second
recording stops when the attendee withdraws consent.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc import RTCPeerConnection
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from telemed.core.audit import AuditEvent
from telemed.identity.models import User
from telemed.video.client import RoomClient
from telemed.video.sfu import JanusSession
from tests.support.janus import JanusServer
from tests.video.test_janus_recording import CAMERA, probe
from tests.video.test_janus_rooms import _client, _publish, _subscribe, janus_app, lecture
from tests.video.test_recording_timing import Camera, Microphone

__all__ = ["janus_app", "lecture"]  # fixtures used here

pytestmark = pytest.mark.timeout(150)

RECORD_SECONDS = 4.0


def test_a_lecture_is_recorded_from_the_room_and_played_on_demand_by_the_enrolled(
    janus_app: JanusServer,
    live_server: str,
    tokens: Callable[[str], str],
    lecture: dict[str, Any],
    committed_engine: Engine,
    tmp_path: Path,
) -> None:
    course_id = lecture["course_id"]
    speaker = {"Authorization": f"Bearer {tokens('specialist')}"}
    with httpx.Client(base_url=live_server) as http:
        opened = http.post(f"/api/v1/training/courses/{course_id}/room", headers=speaker)
        assert opened.status_code == 200, opened.text
        room_id = opened.json()["room_id"]
    doctor, outsider = lecture["viewers"][0], lecture["outsider"]
    camera = Camera(CAMERA, seed=4)
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            presenter: RoomClient = _client(live_server, tokens("specialist"), room_id)
            attendee: RoomClient = _client(live_server, tokens(doctor), room_id)
            pcs: list[RTCPeerConnection] = []
            sessions: list[JanusSession] = []
            try:
                await presenter.join()
                p_sfu = await presenter.wait_message("sfu")
                session, pc, feed, _ = await _publish(
                    http, p_sfu, camera=camera, microphone=Microphone(seed=3)
                )
                sessions.append(session)
                pcs.append(pc)
                assert (await attendee.join(within=30))["state"] == "admitted"
                viewer = await _subscribe(http, await attendee.wait_message("sfu"), feed)
                sessions.append(viewer.session)
                pcs.append(viewer.pc)

                # Consent rules unchanged: nobody answered yet, then the attendee has not.
                await presenter.send({"type": "record", "action": "start"})
                refused = await presenter.wait_message("error")
                assert refused["code"] == "consent_required", refused
                await presenter.send({"type": "consent", "granted": True})
                await presenter.wait_message("consent")
                await presenter.send({"type": "record", "action": "start"})
                refused = await presenter.wait_message(
                    "error", lambda m: m["code"] == "consent_required"
                )
                assert refused["users"] == [attendee.user_id]
                await attendee.send({"type": "consent", "granted": True})
                await presenter.wait_message("consent", lambda m: m["user_id"] == attendee.user_id)

                await presenter.send({"type": "record", "action": "start"})
                started = await presenter.wait_message("recording", within=20)
                assert started["state"] == "started", started
                told = await attendee.wait_message("recording")
                assert told["recording_id"] == started["recording_id"]
                sent_before, t0 = camera.n, time.monotonic()
                await asyncio.sleep(RECORD_SECONDS)
                seen["sent"] = camera.n - sent_before
                await attendee.send({"type": "record", "action": "stop"})
                assert (await attendee.wait_message("error"))["code"] == "forbidden"
                await presenter.send({"type": "record", "action": "stop"})
                stopped = await presenter.wait_message(
                    "recording", lambda m: m["state"] != "started", within=60
                )
                seen["wall"] = time.monotonic() - t0
                seen["stopped"] = stopped
                await presenter.send({"type": "record", "action": "stop"})
                assert (await presenter.wait_message("error"))["code"] == "not_recording"

                # A second recording stops when the attendee withdraws consent.
                await presenter.send({"type": "record", "action": "start"})
                again = await presenter.wait_message(
                    "recording", lambda m: m["recording_id"] != stopped["recording_id"]
                )
                assert again["state"] == "started"
                await asyncio.sleep(1.5)
                await attendee.send({"type": "consent", "granted": False})
                seen["withdrawn"] = await presenter.wait_message(
                    "recording",
                    lambda m: (
                        m["recording_id"] == again["recording_id"] and m["state"] != "started"
                    ),
                    within=60,
                )
            finally:
                for p in pcs:
                    await p.close()
                for s in sessions:
                    with contextlib.suppress(Exception):
                        await s.destroy()
                for c in (presenter, attendee):
                    await c.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))

    stopped = seen["stopped"]
    assert stopped["state"] == "stopped", stopped
    assert stopped["check_status"] == "ok", stopped
    assert stopped["reason"] == "stopped by the host"
    rec_id = stopped["recording_id"]
    assert seen["withdrawn"]["reason"] == "consent withdrawn", seen["withdrawn"]

    with httpx.Client(base_url=live_server) as http:
        # Listed for the course, for an enrolled doctor; one WebM ffprobe reads.
        mine = {"Authorization": f"Bearer {tokens(doctor)}"}
        listed = http.get(f"/api/v1/training/courses/{course_id}/recordings", headers=mine)
        assert listed.status_code == 200, listed.text
        row = next(r for r in listed.json() if r["id"] == rec_id)
        assert all(r["status"] == "finished" for r in listed.json())
        assert (row["id"], row["room_id"], row["media_type"]) == (rec_id, room_id, "video/webm")
        assert row["file_url"] == f"/api/v1/recordings/{rec_id}/file"
        got = http.get(row["file_url"], headers=mine)
        assert got.status_code == 200 and got.headers["content-type"] == "video/webm"
        part = http.get(row["file_url"], headers={**mine, "Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == got.content[:100]  # a player seeks
        path = tmp_path / "lecture.webm"
        path.write_bytes(got.content)
        streams = {s["codec_type"]: s for s in probe(str(path))}
        assert streams["video"]["codec_name"] == "vp8"
        assert streams["audio"]["codec_name"] == "opus"
        assert abs(streams["video"]["duration"] - RECORD_SECONDS) < 1.0, streams
        frames = int(streams["video"]["nb_read_frames"])
        assert frames >= seen["sent"] * 0.8, (frames, seen["sent"])
        decoded = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
            capture_output=True,
            text=True,
        )
        assert decoded.returncode == 0 and not decoded.stderr.strip(), decoded.stderr

        # The course's coordinator (a manager) plays it too; a doctor not enrolled: 404.
        coordinator = {"Authorization": f"Bearer {tokens('coordinator')}"}
        assert http.get(row["file_url"], headers=coordinator).status_code == 200
        other = {"Authorization": f"Bearer {tokens(outsider)}"}
        hidden = http.get(f"/api/v1/training/courses/{course_id}/recordings", headers=other)
        assert hidden.status_code == 404 and hidden.json()["code"] == "not_enrolled"
        assert http.get(row["file_url"], headers=other).status_code == 404

    # Audited: the enrolled doctor's list and file reads, the outsider's refusals.
    with Session(committed_engine) as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.object_id, AuditEvent.actor_id)
            .where(col(AuditEvent.object_type).in_(["video_recording", "training_course"]))
            .where(col(AuditEvent.object_id).in_([rec_id, "*", course_id]))
        ).all()
        by = {u.username: u.id for u in s.execute(select(User).where(
            col(User.username).in_([doctor, outsider]))).scalars()}  # fmt: skip
    assert ("read", rec_id, by[doctor]) in rows
    assert ("read", "*", by[doctor]) in rows
    assert ("refused", course_id, by[outsider]) in rows
    assert ("refused", rec_id, by[outsider]) in rows
