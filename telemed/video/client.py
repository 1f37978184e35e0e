"""A small Python client of the room protocol (docs/video.md), built on aiortc.

Reference implementation for other clients, used by the tests, the benchmarks and
`telemed demo`:

    async with RoomClient(base_url, token, room_id) as c:
        joined = await c.join()
        await c.wait_admitted()
        await c.wait_frames(sources=1, count=30)

It sends synthetic media (aiortc-style green video and silent audio) unless given
tracks, counts frames received per remote source, and follows the protocol's rules:
the newly admitted peer offers to the peers already admitted (p2p rooms); in relay
rooms only the server peer offers; answers echo the offer's `purpose` and `source`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

from telemed.video.fresh import FreshTrack

log = logging.getLogger("telemed.video.client")

__all__ = ["RoomClient", "SyntheticVideoTrack", "ws_url"]

PcKey = tuple[str, str, str | None]  # (remote peer, purpose, source)


class SyntheticVideoTrack(VideoStreamTrack):
    """Plain frames of a given size and rate (aiortc's dummy track, configurable)."""

    def __init__(self, width: int = 160, height: int = 120, fps: int = 15) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self._t0: float | None = None
        self._n = 0

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._t0 is None:
            self._t0 = time.time()
        else:
            self._n += 1
            await asyncio.sleep(max(0.0, self._t0 + self._n / self.fps - time.time()))
        frame = av.VideoFrame(width=self.width, height=self.height)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.pts = int(self._n * 90000 / self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


def ws_url(base_url: str, room_id: str) -> str:
    scheme = "wss" if base_url.startswith("https") else "ws"
    return f"{scheme}://{base_url.split('://', 1)[1].rstrip('/')}/api/v1/rooms/{room_id}/ws"


class RoomClient:
    """One participant's connection to a room: signaling socket plus peer connections."""

    def __init__(
        self,
        base_url: str,
        token: str,
        room_id: str,
        *,
        ice_servers: list[RTCIceServer] | None = None,
        send_media: bool = True,
        video_track: Callable[[], MediaStreamTrack] | None = None,
        audio_track: Callable[[], MediaStreamTrack] | None = None,
        audio: bool = True,
        token_in_query: bool = True,
        mesh: bool = True,
    ) -> None:
        self.base_url, self.token, self.room_id = base_url, token, str(room_id)
        self.ice_servers = ice_servers or []
        self.send_media = send_media
        self.token_in_query = token_in_query
        self.mesh = mesh  # False: only the server peer's connections (load tests)
        self._relay = MediaRelay()
        self._video = (video_track or SyntheticVideoTrack)() if send_media else None
        self._audio = (audio_track or AudioStreamTrack)() if send_media and audio else None
        self.ws: Any = None
        self.peer_id: str | None = None
        self.user_id: str | None = None
        self.mode = "p2p"
        self.is_host = False
        self.admitted = asyncio.Event()
        self.pcs: dict[PcKey, RTCPeerConnection] = {}
        self.frames: dict[str, Counter[str]] = {}
        self.first_frame_at: dict[str, float] = {}
        self.messages: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._taken: set[int] = set()  # indexes of messages already returned
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[Any]] = []
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RoomClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------ socket

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        url = ws_url(self.base_url, self.room_id)
        if self.token_in_query:
            url += f"?token={self.token}"
        self.ws = await connect(url, max_size=2**20, open_timeout=20)
        if not self.token_in_query:
            await self.send({"type": "auth", "token": self.token})
        self._reader = asyncio.create_task(self._read())

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def join(self, within: float = 20) -> dict[str, Any]:
        """Connect, join, and return the `joined` message."""
        if self.ws is None:
            await self.connect()
        await self.send({"type": "join"})
        joined = await self.wait_message("joined", within=within)
        return joined

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                self.messages.append(msg)
                try:
                    await self._on_message(msg)
                except Exception:
                    log.exception("client failed on %s", msg.get("type"))
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code or 1006
            self.close_reason = self.ws.close_reason or ""
            async with self._changed:
                self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], within: float = 20) -> None:
        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(_wait(), within)

    async def wait_message(
        self,
        kind: str,
        where: Callable[[dict[str, Any]], bool] | None = None,
        within: float = 20,
    ) -> dict[str, Any]:
        """The oldest message of `kind` (matching `where`) not returned before."""
        found: list[dict[str, Any]] = []

        def _match() -> bool:
            for i in range(len(self.messages)):
                m = self.messages[i]
                if i in self._taken or m.get("type") != kind:
                    continue
                if where is None or where(m):
                    found.append(m)
                    self._taken.add(i)
                    return True
            return False

        await self.wait_until(lambda: _match() or self.closed, within)
        if not found:
            raise ConnectionError(f"socket closed ({self.close_code}: {self.close_reason})")
        return found[0]

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    async def wait_closed(self, within: float = 20) -> tuple[int | None, str | None]:
        await self.wait_until(lambda: self.closed, within)
        return self.close_code, self.close_reason

    # ------------------------------------------------------------ protocol

    async def _on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "joined":
            self.peer_id, self.user_id = msg["peer"], msg["user_id"]
            self.mode, self.is_host = msg["room"]["mode"], msg["host"]
            if msg["state"] == "admitted":
                self.admitted.set()
                await self._offer_to(msg.get("peers", []))
        elif kind == "admit":
            self.admitted.set()
            await self._offer_to(msg.get("peers", []))
        elif kind == "offer":
            await self._answer(msg)
        elif kind == "answer":
            pc = self.pcs.get((msg["from"], msg.get("purpose") or "mesh", msg.get("source")))
            if pc is not None and pc.signalingState == "have-local-offer":
                await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "answer"))
        elif kind == "bye":
            await self._drop(msg.get("peer"))

    def _local_tracks(self) -> list[MediaStreamTrack]:
        return [
            FreshTrack(self._relay, t, keep_audio=True)
            for t in (self._audio, self._video)
            if t is not None
        ]

    def _new_pc(self, key: PcKey) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))
        self.pcs[key] = pc
        label = key[2] or key[0]

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.ensure_future(self._count(label, track)))

        return pc

    async def _count(self, label: str, track: MediaStreamTrack) -> None:
        counter = self.frames.setdefault(label, Counter())
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                if track.kind not in counter:
                    self.first_frame_at[f"{label}:{track.kind}"] = time.perf_counter()
                counter[track.kind] += 1
                if counter[track.kind] % 5 == 1:
                    async with self._changed:
                        self._changed.notify_all()

    async def _offer_to(self, peers: list[dict[str, Any]]) -> None:
        if self.mode == "relay" or not self.mesh:
            return  # only the server peer offers in relay rooms
        for p in peers:
            peer = p.get("peer")
            if not peer or peer == self.peer_id or (peer, "mesh", None) in self.pcs:
                continue
            pc = self._new_pc((peer, "mesh", None))
            for track in self._local_tracks():
                pc.addTrack(track)
            if not self.send_media:
                pc.addTransceiver("audio", direction="recvonly")
                pc.addTransceiver("video", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            await self.send({"type": "offer", "to": peer, "sdp": pc.localDescription.sdp})

    async def _answer(self, msg: dict[str, Any]) -> None:
        purpose, source = msg.get("purpose") or "mesh", msg.get("source")
        key = (msg["from"], purpose, source)
        old = self.pcs.pop(key, None)
        if old is not None:
            await old.close()
        pc = self._new_pc(key)
        await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "offer"))
        if purpose != "downstream":
            for track in self._local_tracks():
                pc.addTrack(track)
        await pc.setLocalDescription(await pc.createAnswer())
        reply: dict[str, Any] = {
            "type": "answer",
            "to": msg["from"],
            "sdp": pc.localDescription.sdp,
        }
        if purpose != "mesh":
            reply["purpose"] = purpose
        if source:
            reply["source"] = source
        await self.send(reply)

    async def _drop(self, peer: str | None) -> None:
        if not peer:
            return
        for key in [k for k in self.pcs if peer in (k[0], k[2])]:
            await self.pcs.pop(key).close()

    # ------------------------------------------------------------ actions

    async def wait_admitted(self, within: float = 20) -> None:
        await asyncio.wait_for(self.admitted.wait(), within)

    async def admit_everyone(self) -> None:
        """Host helper: admit whoever waits, until cancelled (demos and load tests)."""
        while True:
            msg = await self.wait_message(
                "waiting", where=lambda m: bool(m["waiting"]), within=3600
            )
            for entry in msg["waiting"]:
                await self.admit(entry["user_id"])

    async def admit(self, user_id: str) -> None:
        await self.send({"type": "admit", "user_id": str(user_id)})

    async def deny(self, user_id: str) -> None:
        await self.send({"type": "deny", "user_id": str(user_id)})

    async def chat(self, text: str) -> None:
        await self.send({"type": "chat", "text": text})

    async def consent(self, granted: bool) -> None:
        await self.send({"type": "consent", "granted": granted})

    async def record(self, action: str) -> None:
        await self.send({"type": "record", "action": action})

    def received(self, kind: str = "video") -> dict[str, int]:
        """Frames received per remote source."""
        return {src: c[kind] for src, c in self.frames.items() if c[kind]}

    async def wait_frames(
        self, *, sources: int = 1, count: int = 10, kind: str = "video", within: float = 30
    ) -> dict[str, int]:
        """Wait until `count` frames of `kind` arrived from each of `sources` remote sources."""

        def _enough() -> bool:
            return sum(1 for n in self.received(kind).values() if n >= count) >= sources

        await self.wait_until(_enough, within)
        return self.received(kind)

    async def close(self, *, bye: bool = True) -> None:
        """Leave the room (`bye` gives the place back) and close every connection."""
        if self.ws is not None and not self.closed and bye:
            with contextlib.suppress(Exception):
                await self.send({"type": "bye"})
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*(pc.close() for pc in self.pcs.values()), return_exceptions=True)
        self.pcs.clear()
        for track in (self._audio, self._video):
            if track is not None:
                track.stop()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)

    async def drop(self) -> None:
        """Lose the connection without `bye` (a network failure, for reconnection)."""
        await self.close(bye=False)
