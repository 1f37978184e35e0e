"""Janus (Debian package) as the SFU: one presenter, five viewers through telemed.video.sfu.

The presenter publishes a moving picture that carries its frame counter (12 bits drawn as
black/white blocks, and a bright bar whose position follows the counter); every viewer
decodes the frames Janus forwards and reads the counter back, so a flat or frozen picture,
or someone else's, fails. A viewer without a token, and one whose token the room does not
list, are refused by Janus.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import av
import httpx
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

from telemed.core.settings import Settings, VideoSettings
from telemed.video.client import SyntheticVideoTrack
from telemed.video.sfu import JanusRefused, JanusSession, JanusSfu, new_token
from tests.support.janus import JanusServer

pytestmark = pytest.mark.timeout(180)

WIDTH, HEIGHT = 320, 240
BITS, BLOCK = 12, 16  # the counter: 12 blocks of 16×16 pixels along the top
BAR_WIDTH, BAR_STEP = 16, 16  # the bar jumps its own width: no overlap
VIEWERS = 5
FRAMES = 30  # frames each viewer must decode and read


def bar_x(n: int) -> int:
    return (n * BAR_STEP) % (WIDTH - BAR_WIDTH)


class CounterPatternTrack(SyntheticVideoTrack):
    """SyntheticVideoTrack's timing, but a moving picture that carries its frame number."""

    def __init__(self) -> None:
        super().__init__(width=WIDTH, height=HEIGHT, fps=15)
        self.sent = 0

    async def recv(self) -> av.VideoFrame:
        base = await super().recv()  # paces and stamps the frame
        n = self.sent % (1 << BITS)
        self.sent += 1
        luma = np.full((HEIGHT, WIDTH), 64, dtype=np.uint8)
        for bit in range(BITS):
            if n >> bit & 1:
                luma[0:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 235
        x = bar_x(n)
        luma[2 * BLOCK :, x : x + BAR_WIDTH] = 235
        frame = av.VideoFrame.from_ndarray(luma, format="gray").reformat(format="yuv420p")
        frame.pts, frame.time_base = base.pts, base.time_base
        return frame


def read_counter(frame: av.VideoFrame) -> int | None:
    """The counter drawn in a decoded frame, or None when the picture is not the pattern."""
    luma = frame.to_ndarray(format="gray")
    if luma.shape != (HEIGHT, WIDTH):
        return None
    n = 0
    for bit in range(BITS):
        block = float(luma[4 : BLOCK - 4, bit * BLOCK + 4 : (bit + 1) * BLOCK - 4].mean())
        if block > 170:
            n |= 1 << bit
        elif block > 110:
            return None  # neither black nor white: not our blocks
    x = bar_x(n)
    rows = luma[3 * BLOCK : HEIGHT - BLOCK]
    on_bar = float(rows[:, x + 4 : x + BAR_WIDTH - 4].mean())
    away = (x + WIDTH // 2) % (WIDTH - BAR_WIDTH)
    off_bar = float(rows[:, away + 4 : away + BAR_WIDTH - 4].mean())
    if on_bar < 170 or off_bar > 110:
        return None  # the bar is not where this counter puts it
    return n


def test_the_reader_refuses_what_is_not_the_pattern() -> None:
    """The viewers' check can fail: a flat frame, or a bar that does not match the counter."""
    flat = av.VideoFrame.from_ndarray(np.full((HEIGHT, WIDTH), 64, np.uint8), format="gray")
    assert read_counter(flat) is None
    track = CounterPatternTrack()
    frames = [asyncio.run(track.recv()) for _ in range(3)]
    assert [read_counter(f) for f in frames] == [0, 1, 2]
    wrong = frames[2].to_ndarray(format="gray")
    wrong[:BLOCK, :BLOCK] = 235  # counter 3, bar still where 2 puts it
    assert read_counter(av.VideoFrame.from_ndarray(wrong, format="gray")) is None


@dataclass
class Viewer:
    pc: RTCPeerConnection
    session: JanusSession
    counters: list[int] = field(default_factory=list)
    unreadable: int = 0
    enough: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                n = read_counter(frame)  # type: ignore[arg-type]
                if n is None:
                    self.unreadable += 1
                else:
                    self.counters.append(n)
                if len(self.counters) >= FRAMES:
                    self.enough.set()


Scenario = Callable[[httpx.AsyncClient, JanusSfu], Awaitable[None]]


def run(server: JanusServer, scenario: Scenario, within: float = 120) -> None:
    """Run `scenario` with an HTTP client and the app's Janus client (closed after)."""

    async def main() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            sfu = JanusSfu.from_settings(http, server.video_settings())
            assert sfu is not None
            try:
                await asyncio.wait_for(scenario(http, sfu), within)
            finally:
                await sfu.close()

    asyncio.run(main())


async def _admitted_session(
    http: httpx.AsyncClient, server: JanusServer, sfu: JanusSfu, room: str, secret: str
) -> tuple[JanusSession, str]:
    token = new_token()
    await sfu.grant(room=room, secret=secret, token=token)
    session = await JanusSession(http, server.url, token=token).create()
    return session, token


def test_five_viewers_decode_the_presenters_moving_picture_through_janus(
    janus_server: JanusServer,
) -> None:
    run(janus_server, lambda http, sfu: _five_viewers(http, janus_server, sfu))


async def _five_viewers(http: httpx.AsyncClient, janus_server: JanusServer, sfu: JanusSfu) -> None:
    room, secret = str(uuid.uuid4()), new_token()
    await sfu.create_room(room=room, secret=secret, description="MDT")
    sessions: list[JanusSession] = []
    pcs: list[RTCPeerConnection] = []
    try:
        # The presenter publishes.
        presenter, token = await _admitted_session(http, janus_server, sfu, room, secret)
        sessions.append(presenter)
        handle = await presenter.attach()
        pc = RTCPeerConnection()
        pcs.append(pc)
        camera = CounterPatternTrack()
        pc.addTrack(camera)
        pc.addTrack(AudioStreamTrack())
        await pc.setLocalDescription(await pc.createOffer())
        feed, answer = await handle.publish(
            room=room, offer_sdp=pc.localDescription.sdp, display="presenter", token=token
        )
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await handle.wait_publishing()

        # Five admitted viewers subscribe to the presenter's feed.
        viewers: list[Viewer] = []
        for _ in range(VIEWERS):
            session, vtoken = await _admitted_session(http, janus_server, sfu, room, secret)
            sessions.append(session)
            vhandle = await session.attach()
            vpc = RTCPeerConnection()
            pcs.append(vpc)
            viewer = Viewer(vpc, session)
            viewers.append(viewer)

            @vpc.on("track")
            def on_track(track: MediaStreamTrack, viewer: Viewer = viewer) -> None:
                if track.kind == "video":
                    asyncio.ensure_future(viewer.read(track))

            offer = await vhandle.subscribe(room=room, feed=feed, token=vtoken)
            await vpc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            await vpc.setLocalDescription(await vpc.createAnswer())
            await vhandle.start(vpc.localDescription.sdp)

        await asyncio.wait_for(asyncio.gather(*(v.enough.wait() for v in viewers)), 90)
        for v in viewers:
            assert len(v.counters) >= FRAMES
            # Frames of one moving picture, in order: the counter advances, never repeats much.
            steps = [b - a for a, b in zip(v.counters, v.counters[1:], strict=False)]
            assert all(s > 0 for s in steps), v.counters
            assert len(set(v.counters)) == len(v.counters)
            assert v.counters[-1] - v.counters[0] >= FRAMES - 1
            assert v.counters[-1] < camera.sent  # nothing the presenter did not send
            assert v.unreadable <= len(v.counters) // 10, (v.unreadable, v.counters)
    finally:
        for p in pcs:
            await p.close()
        for s in sessions:
            await s.destroy()
        await sfu.destroy_room(room=room, secret=secret)


def test_janus_refuses_a_viewer_without_an_admitted_token(janus_server: JanusServer) -> None:
    run(janus_server, lambda http, sfu: _refusals(http, janus_server, sfu))


async def _refusals(http: httpx.AsyncClient, janus_server: JanusServer, sfu: JanusSfu) -> None:
    room, secret = str(uuid.uuid4()), new_token()
    await sfu.create_room(room=room, secret=secret, description="MDT")
    try:
        # No token at all: Janus refuses the session.
        with pytest.raises(JanusRefused) as no_token:
            await JanusSession(http, janus_server.url).create()
        assert no_token.value.code == 403
        # A made-up token: refused the same way.
        with pytest.raises(JanusRefused):
            await JanusSession(http, janus_server.url, token=new_token()).create()

        # A token admitted to another room opens Janus, but not this room.
        other, other_secret = str(uuid.uuid4()), new_token()
        await sfu.create_room(room=other, secret=other_secret, description="other")
        try:
            session, token = await _admitted_session(http, janus_server, sfu, other, other_secret)
            try:
                handle = await session.attach()
                with pytest.raises(JanusRefused) as not_listed:
                    await handle.send(
                        {"request": "join", "ptype": "publisher", "room": room, "token": token}
                    )
                assert not_listed.value.code == 433
                # Revoked: the same token no longer opens a session.
                await sfu.revoke(room=other, secret=other_secret, token=token)
                with pytest.raises(JanusRefused):
                    await JanusSession(http, janus_server.url, token=token).create()
            finally:
                await session.destroy()
        finally:
            await sfu.destroy_room(room=other, secret=other_secret)
    finally:
        await sfu.destroy_room(room=room, secret=secret)


def test_janus_is_off_unless_configured_and_needs_its_secrets_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert JanusSfu.from_settings(httpx.AsyncClient(), VideoSettings()) is None
    monkeypatch.setenv("TELEMED_ENV", "test")
    monkeypatch.setenv("TELEMED_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("TELEMED_VIDEO__JANUS_URL", "http://127.0.0.1:8088/janus")
    with pytest.raises(ValueError, match="TELEMED_VIDEO__JANUS_API_SECRET"):
        Settings()
    monkeypatch.setenv("TELEMED_VIDEO__JANUS_ADMIN_URL", "http://127.0.0.1:7088/admin")
    monkeypatch.setenv("TELEMED_VIDEO__JANUS_API_SECRET", "a" * 40)
    monkeypatch.setenv("TELEMED_VIDEO__JANUS_ADMIN_SECRET", "b" * 40)
    assert Settings().video.janus_api_secret == "a" * 40
