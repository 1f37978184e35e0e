"""Server peer capacity at 640x480: recorded 1:1 sessions, and relayed participants.

    python benchmarks/video_capacity.py [--seconds 6] [--max-sessions 4] [--max-relay 6]

Recorded sessions: k rooms at once, each with two participants sending 640x480 at 30 fps
to the server peer, which decodes and records both (H.264 + AAC). The recorded frame rate
of every video stream is read back from the files with PyAV; k grows until one stream
falls below 15 fps. Relay: one relay room with n participants, each receiving every other
participant through the server (n x (n-1) encodes); n grows until a received stream falls
below 15 fps. Baseline, same run: the sending rate of one synthetic 640x480 source (what an
unloaded pipeline would deliver).

The clients run in this process on the same machine, so the figures are a lower bound of
the server's capacity: the clients' VP8 encodes and decodes compete for the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import time
from pathlib import Path

import av
import numpy as np
from _video_support import Served, served_app
from aiortc import VideoStreamTrack
from aiortc.mediastreams import MediaStreamError

from telemed.video.client import RoomClient

FPS_FLOOR = 15.0


class PatternTrack(VideoStreamTrack):
    """640x480 at 30 fps with moving texture (flat frames would flatter the encoders)."""

    _frames: list[av.VideoFrame] = []

    def __init__(self) -> None:
        super().__init__()
        if not PatternTrack._frames:
            y, x = np.mgrid[0:480, 0:640]
            rng = np.random.default_rng(7)
            noise = rng.integers(0, 24, size=(480, 640), dtype=np.uint8)
            for t in range(30):
                img = ((x + 2 * y + 8 * t) % 256).astype(np.uint8) + noise
                rgb = np.stack([img, np.roll(img, 40, axis=1), np.roll(img, 80, axis=0)], axis=2)
                PatternTrack._frames.append(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
        self._n = 0
        self._t0: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._t0 is None:
            self._t0 = time.time()
        else:
            self._n += 1
            await asyncio.sleep(max(0.0, self._t0 + self._n / 30 - time.time()))
        src = PatternTrack._frames[self._n % 30]
        frame = src.reformat(format="yuv420p")
        frame.pts = int(self._n * 3000)
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


def recorded_frames(path: Path) -> list[int]:
    """Video frames in every video stream of a recording."""
    with av.open(str(path)) as c:
        out = []
        for s in c.streams.video:
            out.append(sum(1 for p in c.demux(s) if p.size))
            c.seek(0)
        return out


async def recorded_sessions(app: Served, k: int, seconds: float, ids: dict[str, str]) -> float:
    """Min recorded fps over k concurrent recorded 1:1 sessions."""
    host_t, guest_t = app.token("specialist"), app.token("county-doctor")
    rooms = [app.room(["county-doctor"]) for _ in range(k)]
    clients: list[RoomClient] = []
    try:
        pairs = []
        for rid in rooms:
            host = RoomClient(app.base_url, host_t, rid, video_track=PatternTrack, mesh=False)
            guest = RoomClient(app.base_url, guest_t, rid, video_track=PatternTrack, mesh=False)
            clients += [host, guest]
            await host.join()
            await guest.join()
            await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
            await host.admit(ids["county-doctor"])
            await guest.wait_admitted()
            await host.consent(True)
            await guest.consent(True)
            await host.wait_message("consent", where=lambda m: m["user_id"] == ids["county-doctor"])
            pairs.append((host, guest))
        for host, _ in pairs:
            await host.record("start")
        for host, _ in pairs:
            started = await host.wait_message("recording", within=60)
            assert started["state"] == "started", started
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)  # the measurement window itself
        for host, _ in pairs:
            await host.record("stop")
        wall = time.perf_counter() - t0
        fps: list[float] = []
        for host, _ in pairs:
            stopped = await host.wait_message("recording", within=60)
            path = app.recordings_dir / host.room_id / f"{stopped['recording_id']}.mp4"
            # Frames recorded per second of wall-clock time: drops and lag both count.
            fps += [n / wall for n in recorded_frames(path)]
        return min(fps)
    finally:
        for c in clients:
            await c.close()


async def relay_room(app: Served, n: int, seconds: float, guests: list[str]) -> float:
    """Min received fps over every (viewer, source) pair of an n-party relay room."""
    ids = app.user_ids(*guests[: n - 1])
    rid = app.room(guests[: n - 1], mode="relay", max_participants=n)
    host = RoomClient(app.base_url, app.token("specialist"), rid, video_track=PatternTrack)
    clients = [host] + [
        RoomClient(app.base_url, app.token(g), rid, video_track=PatternTrack)
        for g in guests[: n - 1]
    ]
    try:
        await host.join()
        for c, g in zip(clients[1:], guests, strict=False):
            await c.join()
            await host.wait_message(
                "waiting", where=lambda m, u=ids[g]: any(w["user_id"] == u for w in m["waiting"])
            )
            await host.admit(ids[g])
            await c.wait_admitted()
        for c in clients:
            await c.wait_frames(sources=n - 1, count=10, within=90)
        before = [c.received() for c in clients]
        await asyncio.sleep(seconds)  # the measurement window itself
        after = [c.received() for c in clients]
        rates = [
            (a[src] - b.get(src, 0)) / seconds
            for b, a in zip(before, after, strict=True)
            for src in a
        ]
        return min(rates)
    finally:
        for c in clients:
            await c.close()


async def source_rate(seconds: float) -> float:
    track = PatternTrack()
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        await track.recv()
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--max-sessions", type=int, default=4)
    parser.add_argument("--max-relay", type=int, default=6)
    args = parser.parse_args()
    with served_app() as app:
        baseline = asyncio.run(source_rate(3.0))
        print(f"baseline: one 640x480 synthetic source delivers {baseline:.1f} fps")
        ids = app.user_ids("county-doctor")
        best_k = 0
        for k in range(1, args.max_sessions + 1):
            fps = asyncio.run(recorded_sessions(app, k, args.seconds, ids))
            print(f"recorded 1:1 sessions: {k} -> min recorded fps {fps:.1f}")
            if fps < FPS_FLOOR:
                break
            best_k = k
        from sqlmodel import Session, select

        from telemed.core.db import make_engine
        from telemed.identity.models import User

        engine = make_engine(app.database_url)
        with Session(engine) as s:
            guests = [
                u.username
                for u in s.execute(
                    select(User)
                    .where(User.username.like("dr-%"))  # type: ignore[attr-defined]
                    .order_by(User.username)
                    .limit(args.max_relay)
                ).scalars()
            ]
        best_n = 0
        for n in range(2, args.max_relay + 1):
            fps = asyncio.run(relay_room(app, n, args.seconds, guests))
            print(f"relay room: {n} participants -> min received fps {fps:.1f}")
            if fps < FPS_FLOOR:
                break
            best_n = n
    print(
        f"capacity at >= {FPS_FLOOR:.0f} fps (640x480): {best_k} recorded 1:1 session(s), "
        f"{best_n} relayed participants in one room; baseline source {baseline:.1f} fps"
    )


if __name__ == "__main__":
    main()
