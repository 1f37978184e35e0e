"""Simulcast through Janus: a weak link asks for the low layer and gets the low resolution.

aiortc cannot send simulcast, so the publisher is Chromium (its fake 1280×720 camera) on a
small page this test serves: VP8 with three encodings (`h` full, `m` half, `l` quarter
size, high to low as Janus expects by default). The page only makes the RTCPeerConnection;
the signaling to Janus is ours (`JanusHandle.publish`). An aiortc subscriber asks for
first receives the full 1280×720 picture (Janus's default: the best layer), then asks for
substream 0 (`JanusHandle.set_layer`) and must decode only 320×180 frames for 2 s while
the full layer still flows; substream 1 then brings 640×360.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from telemed.video.sfu import JanusSession, JanusSfu, new_token, video_mid
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support.janus import JanusServer
from tests.video.test_janus_sfu import run

pytestmark = pytest.mark.timeout(240)

PAGE = b"""<!doctype html><meta charset="utf-8"><title>simulcast publisher</title>
<script>
window.offer = async () => {
  const media = await navigator.mediaDevices.getUserMedia(
    {video: {width: 1280, height: 720, frameRate: 30}, audio: false});
  const pc = new RTCPeerConnection();
  pc.addTransceiver(media.getVideoTracks()[0], {direction: "sendonly", sendEncodings: [
    {rid: "h", maxBitrate: 1500000},
    {rid: "m", maxBitrate: 500000, scaleResolutionDownBy: 2},
    {rid: "l", maxBitrate: 150000, scaleResolutionDownBy: 4},
  ]});
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(done => {
    if (pc.iceGatheringState === "complete") return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
  });
  window.pc = pc;
  return pc.localDescription.sdp;
};
window.answer = sdp => window.pc.setRemoteDescription({type: "answer", sdp});
</script>"""


@pytest.fixture
def page_url() -> Iterator[str]:
    """The publisher page, served on loopback (a secure context for getUserMedia)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class Sizes:
    """Frame sizes a subscriber decodes; waits for a run of frames of a wanted size."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []
        self.changed = asyncio.Event()

    async def read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.seen.append((frame.width, frame.height))  # type: ignore[attr-defined]
                self.changed.set()

    async def wait_for(self, size: tuple[int, int], run: int = 10, within: float = 40) -> None:
        """Until `run` frames in a row are `size`."""

        async def _wait() -> None:
            while not (len(self.seen) >= run and all(s == size for s in self.seen[-run:])):
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(_wait(), within)


def test_a_subscriber_on_the_low_layer_receives_the_low_resolution(
    janus_server: JanusServer, page_url: str
) -> None:
    from playwright.async_api import async_playwright

    seen: dict[str, Any] = {}

    async def scenario(http: Any, sfu: JanusSfu) -> None:
        room, secret = str(uuid.uuid4()), new_token()
        await sfu.create_room(room=room, secret=secret, description="lecture")
        sessions: list[JanusSession] = []
        viewer_pc = RTCPeerConnection()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    *CHROMIUM_ARGS,
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                ],
            )
            try:
                page = await browser.new_page()
                await page.goto(page_url)
                token = new_token()
                await sfu.grant(room=room, secret=secret, token=token)
                presenter = await JanusSession(http, janus_server.url, token=token).create()
                sessions.append(presenter)
                handle = await presenter.attach()
                offer = await page.evaluate("window.offer()")
                assert "a=simulcast:send h;m;l" in offer
                feed, answer = await handle.publish(
                    room=room, offer_sdp=offer, display="presenter", token=token
                )
                await page.evaluate("sdp => window.answer(sdp)", answer)
                await handle.wait_publishing(within=30)

                vtoken = new_token()
                await sfu.grant(room=room, secret=secret, token=vtoken)
                viewer = await JanusSession(http, janus_server.url, token=vtoken).create()
                sessions.append(viewer)
                vhandle = await viewer.attach()
                sizes = Sizes()

                @viewer_pc.on("track")
                def on_track(track: MediaStreamTrack) -> None:
                    if track.kind == "video":
                        asyncio.ensure_future(sizes.read(track))

                sub_offer = await vhandle.subscribe(room=room, feed=feed, token=vtoken)
                mid = video_mid(sub_offer)
                assert mid is not None
                await viewer_pc.setRemoteDescription(
                    RTCSessionDescription(sdp=sub_offer, type="offer")
                )
                await viewer_pc.setLocalDescription(await viewer_pc.createAnswer())
                await vhandle.start(viewer_pc.localDescription.sdp)

                # By default Janus forwards the best layer: the full picture, once
                # Chromium's bandwidth estimate lets it send all three.
                await sizes.wait_for((1280, 720), within=60)
                # The viewer's link is weak: it asks for the lowest layer.
                await vhandle.set_layer(mid=mid, substream=0)
                await sizes.wait_for((320, 180))
                since = len(sizes.seen)
                await asyncio.sleep(2.0)  # and stays there while the full layer still flows
                seen["low"] = sizes.seen[since:]
                await vhandle.set_layer(mid=mid, substream=1)
                await sizes.wait_for((640, 360))
            finally:
                await viewer_pc.close()
                for s in sessions:
                    await s.destroy()
                await browser.close()
                await sfu.destroy_room(room=room, secret=secret)

    run(janus_server, scenario, within=200)
    # On the low layer, every frame is the quarter-size encoding (2 s of them).
    assert len(seen["low"]) >= 20 and set(seen["low"]) == {(320, 180)}, seen["low"]
