"""Recording through Janus: its recorder, janus-pp-rec and ffmpeg give one playable file.

An aiortc presenter publishes to a real Janus (Debian package) a picture that changes in
every frame, captured on a jittered clock (intervals vary randomly around 1/30 s, as real
cameras deliver), and a 440 Hz tone. The room is recorded for about 5 s through
`JanusRoomRecorder`; ffprobe (not our own probe) must read one WebM with VP8 video of the
expected duration, at least the frames the presenter sent during the recording minus a
small loss, and Opus audio of the same span. Without everyone's consent, nothing starts.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from telemed.core import clock
from telemed.core.errors import Conflict
from telemed.core.settings import get_settings
from telemed.identity.models import User
from telemed.video import retention
from telemed.video.janus_recording import JanusRoomRecorder, mjr_tracks
from telemed.video.models import ParticipantStatus, Recording, RoomParticipant
from telemed.video.sfu import JanusHandle, JanusSession, JanusSfu, new_token
from tests.support.janus import JanusServer
from tests.video.test_janus_sfu import run
from tests.video.test_recording_timing import Camera, CameraSpec, Microphone

pytestmark = pytest.mark.timeout(240)

RECORD_SECONDS = 5.0
CAMERA = CameraSpec(fps=30, jitter=0.012)  # each interval 33 ms ± 12 ms, at random


def seat(engine: Engine, room_id: str, users: dict[str, User], consent: dict[str, bool | None]):  # type: ignore[no-untyped-def]
    """Admitted, connected participants of the room with these consent answers."""
    now = clock.now()
    with Session(engine) as s:
        for name, answer in consent.items():
            s.add(
                RoomParticipant(
                    room_id=uuid.UUID(room_id),
                    user_id=users[name].id,
                    is_host=name == "specialist",
                    status=ParticipantStatus.ADMITTED,
                    connected=True,
                    first_joined_at=now,
                    last_joined_at=now,
                    admitted_at=now,
                    consent=answer,
                    consent_at=now if answer is not None else None,
                )
            )
        s.commit()


@pytest.fixture
def seated_room(
    make_room: Callable[..., str], users: dict[str, User], committed_engine: Engine
) -> Callable[[bool | None], str]:
    """A committed room whose host consented and whose county doctor answered `guest`."""

    def _make(guest: bool | None) -> str:
        room_id = make_room()
        seat(committed_engine, room_id, users, {"specialist": True, "county-doctor": guest})
        return room_id

    return _make


def probe(path: str) -> list[dict[str, Any]]:
    """ffprobe's view: per stream its codec, duration and counted frames."""
    entries = "stream=codec_type,codec_name,width,height,nb_read_frames:format=duration"
    command = ["ffprobe", "-v", "error", "-count_frames", "-show_entries", entries]
    out = subprocess.run([*command, "-of", "json", path], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    return [{**s, "duration": float(data["format"]["duration"])} for s in data["streams"]]


async def _publish(
    http: Any, server: JanusServer, sfu: JanusSfu, room: str, secret: str, camera: Camera
) -> tuple[RTCPeerConnection, JanusHandle, str]:
    token = new_token()
    await sfu.grant(room=room, secret=secret, token=token)
    session = await JanusSession(http, server.url, token=token).create()
    handle = await session.attach()
    pc = RTCPeerConnection()
    pc.addTrack(camera)
    pc.addTrack(Microphone(seed=2))
    await pc.setLocalDescription(await pc.createOffer())
    feed, answer = await handle.publish(
        room=room, offer_sdp=pc.localDescription.sdp, display="presenter", token=token
    )
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await handle.wait_publishing()
    return pc, handle, feed


def test_a_janus_recording_is_one_playable_file_with_every_frame_and_the_sound(
    janus_server: JanusServer,
    seated_room: Callable[[bool | None], str],
    users: dict[str, User],
    committed_engine: Engine,
    client: Any,
    login: Callable[[str], dict[str, str]],
) -> None:
    room_id = seated_room(True)
    settings = get_settings().video
    host = users["specialist"]
    camera = Camera(CAMERA, seed=1)
    seen: dict[str, Any] = {}

    async def scenario(http: Any, sfu: JanusSfu) -> None:
        jroom, secret = room_id, new_token()
        await sfu.create_room(room=jroom, secret=secret, description="lecture")
        pc, handle, feed = await _publish(http, janus_server, sfu, jroom, secret, camera)
        try:
            await asyncio.sleep(1.0)  # media flows before the recording
            recorder = JanusRoomRecorder(sfu, settings=settings)
            rec = await recorder.start(
                room_id=uuid.UUID(room_id), janus_room=jroom, secret=secret, by=host
            )
            sent_before, t0 = camera.n, time.monotonic()
            assert recorder.parts is not None
            seen["parts"] = recorder.parts
            await asyncio.sleep(RECORD_SECONDS / 2)
            # The participant cannot stop Janus's recorder (the room's recording is locked).
            await handle.send({"request": "configure", "record": False})
            await asyncio.sleep(RECORD_SECONDS / 2)
            seen["sent"] = camera.n - sent_before
            seen["mjr"] = sorted(t.kind for t in mjr_tracks(recorder.parts))
            done = await recorder.stop(presenter_feed=feed, presenter=host.id)
            seen["wall"] = time.monotonic() - t0
            seen["id"], seen["row"] = rec.id, done
        finally:
            await pc.close()
            await handle.session.destroy()
            await sfu.destroy_room(room=jroom, secret=secret)

    run(janus_server, scenario)

    # Janus wrote one .mjr per medium of the presenter; they are gone once converted.
    assert seen["mjr"] == ["audio", "video"]
    assert not Path(seen["parts"]).exists()
    rec: Recording = seen["row"]
    assert rec.status == "finished", (rec.error, rec.warnings)
    assert rec.media_type == "video/webm" and rec.path.endswith(f"{rec.id}.webm")
    assert rec.check_status == "ok", rec.check_streams
    streams = {s["codec_type"]: s for s in probe(rec.path)}
    assert set(streams) == {"video", "audio"}
    video, audio = streams["video"], streams["audio"]
    assert video["codec_name"] == "vp8" and (video["width"], video["height"]) == (160, 120)
    assert audio["codec_name"] == "opus" and int(audio["nb_read_frames"]) > 0
    # The file lasts the recording (± 0.6 s: the first keyframe after Janus's PLI, RTT).
    assert abs(video["duration"] - RECORD_SECONDS) < 0.6, video
    # Frames: what the camera captured while Janus recorded, less a small loss.
    frames = int(video["nb_read_frames"])
    assert frames >= seen["sent"] * 0.9 - 3, (frames, seen["sent"])
    assert frames <= seen["sent"] + 45  # nothing invented (a second of lag at most)
    # 20 ms Opus frames covering (nearly) the same span.
    assert int(audio["nb_read_frames"]) * 0.02 >= RECORD_SECONDS * 0.9 - 0.3
    assert rec.duration_seconds is not None and abs(rec.duration_seconds - RECORD_SECONDS) < 0.6
    assert {(s["kind"], s["user_id"]) for s in rec.check_streams} == {
        ("video", str(host.id)),
        ("audio", str(host.id)),
    }

    # The store: a participant plays it over the API as WebM; retention deletes it when due.
    got = client.get(f"/api/v1/recordings/{rec.id}/file", headers=login("county-doctor"))
    assert got.status_code == 200
    assert got.headers["content-type"] == "video/webm"
    assert f'filename="{rec.id}.webm"' in got.headers["content-disposition"]
    assert got.content == Path(rec.path).read_bytes()
    with Session(committed_engine) as s:
        purged = retention.purge_expired_recordings(
            session=s, now=rec.retention_until + timedelta(seconds=1)
        )
        assert rec.id in purged
        s.commit()
    assert not Path(rec.path).exists()


def test_janus_does_not_record_without_everyones_consent(
    janus_server: JanusServer,
    seated_room: Callable[[bool | None], str],
    users: dict[str, User],
    committed_engine: Engine,
) -> None:
    room_id = seated_room(None)
    settings = get_settings().video
    seen: dict[str, Any] = {}

    async def scenario(http: Any, sfu: JanusSfu) -> None:
        jroom, secret = room_id, new_token()
        await sfu.create_room(room=jroom, secret=secret, description="lecture")
        try:
            recorder = JanusRoomRecorder(sfu, settings=settings)
            with pytest.raises(Conflict) as refused:
                await recorder.start(
                    room_id=uuid.UUID(room_id),
                    janus_room=jroom,
                    secret=secret,
                    by=users["specialist"],
                )
            seen["code"], seen["extra"] = refused.value.code, refused.value.extra
            # Janus was never told to record: the room's recording is off.
            listed = await (await sfu._control()).request(
                {"request": "list", "admin_key": janus_server.room_admin_key}
            )
            seen["room"] = next(r for r in listed["list"] if r["room"] == jroom)
        finally:
            await sfu.destroy_room(room=jroom, secret=secret)

    run(janus_server, scenario)
    assert seen["code"] == "consent_required"
    assert seen["extra"]["users"] == [str(users["county-doctor"].id)]
    assert seen["room"]["record"] is False
    with Session(committed_engine) as s:
        rows = s.execute(select(Recording).where(Recording.room_id == uuid.UUID(room_id))).scalars()
        assert list(rows) == []


def test_a_janus_recording_without_the_presenters_media_fails_and_leaves_nothing(
    janus_server: JanusServer, seated_room: Callable[[bool | None], str], users: dict[str, User]
) -> None:
    room_id = seated_room(True)
    seen: dict[str, Any] = {}

    async def scenario(http: Any, sfu: JanusSfu) -> None:
        jroom, secret = room_id, new_token()
        await sfu.create_room(room=jroom, secret=secret, description="lecture")
        try:
            recorder = JanusRoomRecorder(sfu, settings=get_settings().video)
            await recorder.start(
                room_id=uuid.UUID(room_id), janus_room=jroom, secret=secret, by=users["specialist"]
            )
            seen["parts"] = recorder.parts
            seen["row"] = await recorder.stop(
                presenter_feed="nobody", presenter=users["specialist"].id
            )
            with pytest.raises(Conflict) as again:
                await recorder.stop(presenter_feed="nobody", presenter=users["specialist"].id)
            seen["again"] = again.value.code
        finally:
            await sfu.destroy_room(room=jroom, secret=secret)

    run(janus_server, scenario)
    rec: Recording = seen["row"]
    assert rec.status == "failed"
    assert rec.error == "Janus recorded nothing of the presenter's feed nobody"
    assert rec.check_status is None and not Path(rec.path).exists()
    assert not Path(seen["parts"]).exists()
    assert seen["again"] == "not_recording"
