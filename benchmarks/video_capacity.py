"""Server peer capacity at 640x480: recorded 1:1 sessions, and relayed participants.

    python benchmarks/video_capacity.py [--seconds 6] [--max-sessions 4] [--max-relay 5]
                                        [--content pattern|flat] [--database postgres|sqlite]

Content (default `pattern`): moving texture, a moving square and new noise in every frame,
which the VP8 and H.264 encoders must really code (`flat`: aiortc's green frames, which
cost the encoders next to nothing and flatter every figure).

Recorded sessions: k rooms at once, each with two participants sending 640x480 at 30 fps
to the server peer, which decodes and records both (H.264 + AAC). Each participant sends
for `--seconds` after the recording started; the recorded rate of every video stream is
read back from the file with PyAV: the frames whose capture timestamps lie in the first
`--seconds` of the recording's timeline, divided by `--seconds` (the frames and the
window are the same span). k grows until one stream falls below 15 fps.

Relay: one relay room with n participants, each receiving every other participant through
the server (n x (n-1) encodes); every viewer counts the frames it received during the same
`--seconds` window; n grows until a received stream falls below 15 fps.

Baseline, same run, measured before the sessions, between the sessions and the relay, and
at the end: a direct aiortc pair in one process of its own (one VP8 encode and decode of the
same content, no server): what this machine's codecs deliver for one stream right then.

Every participant runs in its own process, but on the same machine: the figures are a lower
bound of the server's capacity, since the clients' VP8 encodes and decodes compete for the
same two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from _video_support import Served, durability, served_app
from aiortc import VideoStreamTrack
from aiortc.mediastreams import MediaStreamError

from telemed.video.client import RoomClient

FPS_FLOOR = 15.0
CONTENT = {"kind": "pattern"}


def FlatTrack() -> VideoStreamTrack:
    """aiortc's synthetic track: 640x480 green frames at 30 fps."""
    return VideoStreamTrack()


class PatternTrack(VideoStreamTrack):
    """640x480 at 30 fps of moving content the encoder must really code.

    A diagonal texture scrolling 8 px a frame, a bright square crossing the picture, and
    per-frame noise (new noise in every frame of a 2 s cycle: no two frames of a cycle are
    alike, so neither motion search nor skipped blocks make it cheap). The 60 frames of
    the cycle are converted to YUV once, so producing a frame costs a copy.
    """

    CYCLE = 60
    _planes: list[np.ndarray] = []

    def __init__(self) -> None:
        super().__init__()
        if not PatternTrack._planes:
            y, x = np.mgrid[0:480, 0:640]
            rng = np.random.default_rng(7)
            for t in range(self.CYCLE):
                img = ((x + 2 * y + 8 * t) % 256).astype(np.int16)
                img += rng.integers(-20, 21, size=(480, 640), dtype=np.int16)
                bx, by = (16 * t) % 560, (8 * t) % 400
                img[by : by + 80, bx : bx + 80] = 235
                img = np.clip(img, 0, 255).astype(np.uint8)
                rgb = np.stack([img, np.roll(img, 40, axis=1), np.roll(img, 80, axis=0)], axis=2)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
                PatternTrack._planes.append(frame.to_ndarray())
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
        plane = PatternTrack._planes[self._n % self.CYCLE]
        frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
        frame.pts = int(self._n * 3000)
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


def recorded_fps(path: Path, start: float, end: float) -> list[float]:
    """Per video stream of a recording: frames whose timestamps lie in [start, end) seconds
    of the recording's timeline (zero = the recording's start), per second of that window.

    The recorder keeps each frame's capture timestamp, so this counts the frames captured
    in the window that reached the file: neither the frames written before the window nor
    those after it inflate the rate.
    """
    with av.open(str(path)) as c:
        out = []
        for s in c.streams.video:
            tb = float(s.time_base)
            n = sum(
                1 for p in c.demux(s) if p.size and p.pts is not None and start <= p.pts * tb < end
            )
            out.append(n / (end - start))
            c.seek(0)
        return out


def _participant(
    content: str,
    base: str,
    token: str,
    room_id: str,
    host: bool,
    expect_sources: int,
    record: bool,
    seconds: float,
    barrier: Any,
    results: Any,
) -> None:
    """One participant in its own process (its own GIL), reporting its figures."""
    CONTENT["kind"] = content
    asyncio.run(
        _participant_main(
            base, token, room_id, host, expect_sources, record, seconds, barrier, results
        )
    )


async def _participant_main(
    base: str,
    token: str,
    room_id: str,
    host: bool,
    expect_sources: int,
    record: bool,
    seconds: float,
    barrier: Any,
    results: Any,
) -> None:
    factory = PatternTrack if CONTENT["kind"] == "pattern" else FlatTrack
    c = RoomClient(base, token, room_id, video_track=factory, mesh=not record)
    admitting = None
    step = "join"
    try:
        await c.join(within=180)
        if host:
            admitting = asyncio.create_task(c.admit_everyone())
        step = "admitted"
        await c.wait_admitted(within=180)
        step = "first frames"
        if expect_sources:
            await c.wait_frames(sources=expect_sources, count=5, within=180)
        if record:
            await c.consent(True)
        step = "barrier"
        await asyncio.to_thread(barrier.wait, 300)  # everyone is in and media flows
        if record and host:
            step = "recording start"
            await c.record("start")
            started = await c.wait_message("recording", within=180)
            if started["state"] != "started":
                raise RuntimeError(started)
        before = c.received()
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)  # the measurement window itself
        after = c.received()
        wall = time.perf_counter() - t0
        out: dict[str, Any] = {
            "received_fps": [(after[s] - before.get(s, 0)) / wall for s in after]
        }
        if record and host:
            step = "recording stop"
            await c.record("stop")
            stopped = await c.wait_message("recording", within=180)
            out["recording"] = stopped.get("recording_id")
            out["wall"] = wall
        results.put(out)
        step = "final barrier"
        await asyncio.to_thread(barrier.wait, 300)  # nobody leaves before the others measured
    except Exception as exc:
        errors = [m for m in c.messages if m.get("type") == "error"]
        results.put({"error": f"{'host' if host else 'guest'} at {step}: {exc!r} {errors[-3:]}"})
        with contextlib.suppress(Exception):
            barrier.abort()
    finally:
        if admitting is not None:
            admitting.cancel()
        await c.close()


def _run_processes(specs: list[tuple[str, str, bool, int, bool]], app: Served, seconds: float):  # type: ignore[no-untyped-def]
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(len(specs)), ctx.Queue()
    procs = []
    for token, room_id, host, expect, record in specs:
        proc = ctx.Process(
            target=_participant,
            args=(
                CONTENT["kind"],
                app.base_url,
                token,
                room_id,
                host,
                expect,
                record,
                seconds,
                barrier,
                results,
            ),
        )
        proc.start()
        procs.append(proc)
        if host:
            time.sleep(1.0)  # the host is in first (it admits the others)
    outs = [results.get(timeout=600) for _ in specs]
    for proc in procs:
        proc.join(60)
    errors = [o["error"] for o in outs if "error" in o]
    if errors:
        raise RuntimeError(errors[0])
    return outs


def recorded_sessions(app: Served, k: int, seconds: float) -> float:
    """Min recorded fps of k recorded sessions (frames captured in the window / window)."""
    host_t, guest_t = app.token("specialist"), app.token("county-doctor")
    specs = []
    for _ in range(k):
        rid = app.room(["county-doctor"])
        specs += [(host_t, rid, True, 0, True), (guest_t, rid, False, 0, True)]
    outs = _run_processes(specs, app, seconds)
    fps: list[float] = []
    for out in outs:
        if out.get("recording"):
            path = next(app.recordings_dir.rglob(f"{out['recording']}.mp4"))
            fps += recorded_fps(path, 0.0, seconds)
    return min(fps)


def relay_room(app: Served, n: int, seconds: float, guests: list[str]) -> float:
    """Min received fps over every (viewer, source) pair of an n-party relay room."""
    rid = app.room(guests[: n - 1], mode="relay", max_participants=n)
    specs = [(app.token("specialist"), rid, True, n - 1, False)] + [
        (app.token(g), rid, False, n - 1, False) for g in guests[: n - 1]
    ]
    outs = _run_processes(specs, app, seconds)
    return min(f for out in outs for f in out["received_fps"])


def relay_guests(app: Served, n: int) -> list[str]:
    """Usernames of n seeded doctors (`dr-…`) to fill a relay room."""
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
                .limit(n)
            ).scalars()
        ]
    engine.dispose()
    return guests


async def _direct_pair(seconds: float) -> float:
    from aiortc import RTCConfiguration, RTCPeerConnection

    a, b = RTCPeerConnection(RTCConfiguration([])), RTCPeerConnection(RTCConfiguration([]))
    source = PatternTrack() if CONTENT["kind"] == "pattern" else FlatTrack()
    counts = {"n": 0}
    flowing = asyncio.Event()

    @b.on("track")
    def on_track(track) -> None:  # type: ignore[no-untyped-def]
        async def count() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    await track.recv()
                    counts["n"] += 1
                    if counts["n"] >= 5:
                        flowing.set()

        asyncio.ensure_future(count())

    try:
        a.addTrack(source)
        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
        await asyncio.wait_for(flowing.wait(), 60)
        before, t0 = counts["n"], time.perf_counter()
        await asyncio.sleep(seconds)
        return (counts["n"] - before) / (time.perf_counter() - t0)
    finally:
        await a.close()
        await b.close()
        source.stop()


def _baseline_process(content: str, seconds: float, results: Any) -> None:
    CONTENT["kind"] = content
    results.put(asyncio.run(_direct_pair(seconds)))


def direct_pair_fps(seconds: float) -> float:
    """Received fps of a direct aiortc pair in a process of its own (the baseline)."""
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_baseline_process, args=(CONTENT["kind"], seconds, results))
    proc.start()
    fps = float(results.get(timeout=300))
    proc.join(60)
    return fps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--max-sessions", type=int, default=4)
    parser.add_argument("--max-relay", type=int, default=5)
    parser.add_argument(
        "--content",
        choices=["pattern", "flat"],
        default="pattern",
        help="pattern: moving texture and noise (default); flat: aiortc's green frames",
    )
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()
    CONTENT["kind"] = args.content
    with served_app(args.database) as app:
        print(
            f"content: {args.content}; 640x480 at 30 fps; window {args.seconds:.0f} s; "
            f"database: {durability(app.database_url)}; load average {os.getloadavg()}"
        )
        baselines = [direct_pair_fps(args.seconds)]
        print(f"baseline: direct aiortc pair received {baselines[-1]:.1f} fps")
        best_k = 0
        for k in range(1, args.max_sessions + 1):
            fps = recorded_sessions(app, k, args.seconds)
            print(f"recorded 1:1 sessions: {k} -> min recorded fps {fps:.1f}")
            if fps < FPS_FLOOR:
                break
            best_k = k
        baselines.append(direct_pair_fps(args.seconds))
        print(f"baseline: direct aiortc pair received {baselines[-1]:.1f} fps")
        guests = relay_guests(app, args.max_relay)
        best_n = 0
        for n in range(2, args.max_relay + 1):
            fps = relay_room(app, n, args.seconds, guests)
            print(f"relay room: {n} participants -> min received fps {fps:.1f}")
            if fps < FPS_FLOOR:
                break
            best_n = n
        baselines.append(direct_pair_fps(args.seconds))
        print(f"baseline: direct aiortc pair received {baselines[-1]:.1f} fps")
        print(f"load average at end: {os.getloadavg()}")
    print(
        f"capacity at >= {FPS_FLOOR:.0f} fps (640x480, {args.content}): {best_k} recorded 1:1 "
        f"session(s), {best_n} relayed participants in one room; baseline direct pair "
        + ", ".join(f"{b:.1f}" for b in baselines)
        + " fps"
    )


if __name__ == "__main__":
    main()
