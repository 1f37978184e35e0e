"""Lecture capacity: viewers one lecture holds at 640x480 with every viewer at >= 15 fps,
Janus (VideoRoom SFU) against today's aiortc relay, in the same run.

    python benchmarks/lecture_capacity.py [--steps 5,10,20,30,50] [--seconds 6]
                                          [--max-relay 4] [--per-process 15]

Janus: one aiortc presenter (its own process) publishes the moving 640x480 content of
video_capacity.py (`PatternTrack`, 30 fps, new noise in every frame) and silence. For each
step, n viewers subscribe through Janus, each with its own token (granted as admission
will), in worker processes of at most `--per-process` viewers. Every viewer counts the video
frames aiortc's RTP receiver assembles from the packets (its jitter buffer's complete
frames, counted where they are handed to the decoder); all but a sample of 5 then drop
them instead of decoding, so the receivers' cost is RTP, SRTP and RTCP only. The 5 sampled
viewers decode too and check the picture: every 5th decoded frame must be 640x480 and
match one of the presenter's 60 pictures (PSNR of the luma, subsampled, >= 18 dB). A step
holds when every viewer received >= 15 fps over the `--seconds` window; the window starts
on a barrier once every viewer has frames. Janus's CPU is read from /proc/<pid>/stat over
the window (cores, and per viewer); the receivers' CPU is their processes' CPU time over
the same window.

Baseline, same run: today's aiortc relay (`mode: relay` rooms through the server peer,
video_capacity.relay_room): rooms of 2, 3, ... participants until one received stream
falls below 15 fps; there every participant also sends, so n participants are n - 1
viewers per source.

All of it shares this machine's two cores (the presenter's VP8 encoder, the receivers and
the server): the figures are a lower bound of what the server would hold alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import queue
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from _video_support import served_app
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from video_capacity import FPS_FLOOR, PatternTrack, relay_guests, relay_room

from telemed.video.sfu import JanusSession, JanusSfu, new_token

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support import janus

SAMPLE = 5  # viewers that decode and check the picture
PSNR_FLOOR = 18.0


def janus_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _lumas() -> np.ndarray:
    """The presenter's 60 pictures, luma subsampled 8x (what a decoded frame must match)."""
    PatternTrack()  # builds the cycle once
    return np.stack([p[:480:8, ::8].astype(np.float32) for p in PatternTrack._planes])


def picture_matches(frame: Any, lumas: np.ndarray) -> bool:
    """A decoded frame is 640x480 and one of the presenter's pictures (PSNR >= 18 dB)."""
    if (frame.width, frame.height) != (640, 480):
        return False
    y = frame.to_ndarray(format="yuv420p")[:480:8, ::8].astype(np.float32)
    mse = float(((lumas - y) ** 2).mean(axis=(1, 2)).min())
    return 10 * math.log10(255**2 / max(mse, 1e-6)) >= PSNR_FLOOR


class Viewer:
    """One subscriber: counts the frames its RTP receiver assembles; decodes when sampled."""

    def __init__(self, decode: bool, lumas: np.ndarray | None) -> None:
        self.pc = RTCPeerConnection()
        self.decode = decode
        self.lumas = lumas
        self.frames = 0
        self.checked = self.bad = 0
        self.session: JanusSession | None = None

    def count_rtp_frames(self) -> None:
        """Count every assembled video frame where aiortc hands it to its decoder; a
        counting-only viewer drops it there (and every audio frame): no decode."""
        for receiver in self.pc.getReceivers():
            q = receiver._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
            video = receiver.track.kind == "video"
            forward = q.put

            def put(item: Any, *a: Any, forward: Any = forward, video: bool = video) -> None:
                if item is None:
                    forward(item, *a)
                    return
                if video:
                    self.frames += 1
                if video and self.decode:
                    forward(item, *a)

            q.put = put

    async def check(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            n = 0
            while True:
                frame = await track.recv()
                n += 1
                if self.lumas is not None and n % 5 == 0:
                    self.checked += 1
                    if not await asyncio.to_thread(picture_matches, frame, self.lumas):
                        self.bad += 1

    async def subscribe(
        self, http: httpx.AsyncClient, url: str, room: str, feed: str, token: str
    ) -> None:
        self.session = await JanusSession(http, url, token=token).create()
        handle = await self.session.attach()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video" and self.decode:
                asyncio.ensure_future(self.check(track))

        offer = await handle.subscribe(room=room, feed=feed, token=token)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        self.count_rtp_frames()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await handle.start(self.pc.localDescription.sdp)

    async def close(self) -> None:
        await self.pc.close()
        if self.session is not None:
            await self.session.destroy()


@dataclass(frozen=True)
class ViewerJob:
    """What one worker process of viewers is given."""

    url: str
    room: str
    feed: str
    tokens: list[str]
    decode: bool
    seconds: float
    barrier: Any
    results: Any


def _viewers(job: ViewerJob) -> None:
    """A worker process holding some viewers (its own GIL)."""
    asyncio.run(_viewers_main(job))


async def _viewers_main(job: ViewerJob) -> None:
    url, room, feed, tokens, decode = job.url, job.room, job.feed, job.tokens, job.decode
    seconds, barrier, results = job.seconds, job.barrier, job.results
    lumas = _lumas() if decode else None
    viewers = [Viewer(decode, lumas) for _ in tokens]
    step = "subscribe"
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            for v, token in zip(viewers, tokens, strict=True):
                await v.subscribe(http, url, room, feed, token)
            step = "first frames"
            deadline = time.monotonic() + 120
            while min(v.frames for v in viewers) < 5:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"frames per viewer: {[v.frames for v in viewers]}")
                await asyncio.sleep(0.2)
            step = "barrier"
            await asyncio.to_thread(barrier.wait, 300)
            before, cpu0, t0 = [v.frames for v in viewers], time.process_time(), time.perf_counter()
            await asyncio.sleep(seconds)
            after, cpu1 = [v.frames for v in viewers], time.process_time()
            wall = time.perf_counter() - t0
            results.put(
                {
                    "fps": [(a - b) / wall for a, b in zip(after, before, strict=True)],
                    "cpu": (cpu1 - cpu0) / wall,
                    "checked": sum(v.checked for v in viewers),
                    "bad": sum(v.bad for v in viewers),
                }
            )
            step = "final barrier"
            await asyncio.to_thread(barrier.wait, 300)
            for v in viewers:
                await v.close()
    except Exception as exc:
        results.put({"error": f"viewers at {step}: {exc!r}"})
        with contextlib.suppress(Exception):
            barrier.abort()


def _presenter(url: str, room: str, token: str, out: Any, stop: Any) -> None:
    asyncio.run(_presenter_main(url, room, token, out, stop))


async def _presenter_main(url: str, room: str, token: str, out: Any, stop: Any) -> None:
    camera = PatternTrack()
    pc = RTCPeerConnection()
    pc.addTrack(camera)
    pc.addTrack(AudioStreamTrack())
    async with httpx.AsyncClient(timeout=60) as http:
        session = await JanusSession(http, url, token=token).create()
        handle = await session.attach()
        await pc.setLocalDescription(await pc.createOffer())
        feed, answer = await handle.publish(
            room=room, offer_sdp=pc.localDescription.sdp, display="presenter", token=token
        )
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await handle.wait_publishing(within=60)
        out.put({"feed": feed})
        while not stop.is_set():
            n0, t0 = camera._n, time.perf_counter()
            await asyncio.sleep(1.0)
            out.put({"sent_fps": (camera._n - n0) / (time.perf_counter() - t0)})
        await pc.close()
        await session.destroy()


def _drain(q: Any) -> list[dict[str, Any]]:
    got = []
    with contextlib.suppress(queue.Empty):
        while True:
            got.append(q.get_nowait())
    return got


async def janus_step(
    server: janus.JanusServer,
    sfu: JanusSfu,
    room: str,
    secret: str,
    feed: str,
    n: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """n viewers of the lecture: their fps, the picture checks, Janus's and their CPU."""
    tokens = [new_token() for _ in range(n)]
    for t in tokens:
        await sfu.grant(room=room, secret=secret, token=t)
    groups = [(tokens[:SAMPLE], True)]
    rest = tokens[SAMPLE:]
    groups += [
        (rest[i : i + args.per_process], False) for i in range(0, len(rest), args.per_process)
    ]
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(len(groups) + 1), ctx.Queue()
    procs = [
        ctx.Process(
            target=_viewers,
            args=(
                ViewerJob(server.url, room, feed, group, decode, args.seconds, barrier, results),
            ),
        )
        for group, decode in groups
    ]
    for p in procs:
        p.start()
    try:
        await asyncio.to_thread(barrier.wait, 300)
        cpu0, t0 = janus_cpu_seconds(server.process.pid), time.perf_counter()  # type: ignore[union-attr]
        await asyncio.sleep(args.seconds)
        janus_cores = (janus_cpu_seconds(server.process.pid) - cpu0) / (time.perf_counter() - t0)  # type: ignore[union-attr]
        outs = [await asyncio.to_thread(results.get, True, 300) for _ in groups]
        errors = [o["error"] for o in outs if "error" in o]
        if errors:
            raise RuntimeError(errors[0])
        await asyncio.to_thread(barrier.wait, 300)
    except BaseException:
        with contextlib.suppress(Exception):
            barrier.abort()
        raise
    finally:
        for p in procs:
            await asyncio.to_thread(p.join, 60)
            if p.is_alive():
                p.terminate()
        for t in tokens:
            await sfu.revoke(room=room, secret=secret, token=t)
    fps = [f for o in outs for f in o["fps"]]
    return {
        "n": n,
        "min_fps": min(fps),
        "mean_fps": sum(fps) / len(fps),
        "janus_cores": janus_cores,
        "receiver_cores": sum(o["cpu"] for o in outs),
        "checked": sum(o["checked"] for o in outs),
        "bad": sum(o["bad"] for o in outs),
    }


async def janus_lecture(args: argparse.Namespace) -> tuple[int, list[dict[str, Any]], list[float]]:
    """Step the viewer count on a real Janus; (viewers held, step figures, presenter fps)."""
    server = janus.start()
    ctx = mp.get_context("spawn")
    out, stop = ctx.Queue(), ctx.Event()
    presenter: Any = None
    rows: list[dict[str, Any]] = []
    sent: list[float] = []
    best = 0
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            sfu = JanusSfu.from_settings(http, server.video_settings())
            assert sfu is not None
            room, secret = str(uuid.uuid4()), new_token()
            await sfu.create_room(room=room, secret=secret, description="lecture")
            token = new_token()
            await sfu.grant(room=room, secret=secret, token=token)
            presenter = ctx.Process(target=_presenter, args=(server.url, room, token, out, stop))
            presenter.start()
            feed = str((await asyncio.to_thread(out.get, True, 120))["feed"])
            for n in args.steps:
                row = await janus_step(server, sfu, room, secret, feed, n, args)
                row["sent_fps"] = [m["sent_fps"] for m in _drain(out) if "sent_fps" in m]
                sent += row["sent_fps"]
                rows.append(row)
                print(_step_line(row), flush=True)
                if row["min_fps"] < FPS_FLOOR or row["bad"]:
                    break
                best = n
            stop.set()
            await sfu.destroy_room(room=room, secret=secret)
            await sfu.close()
    finally:
        stop.set()
        if presenter is not None:
            presenter.join(30)
            if presenter.is_alive():
                presenter.terminate()
        server.cleanup()
    return best, rows, sent


def _step_line(row: dict[str, Any]) -> str:
    n, sent = row["n"], row["sent_fps"] or [0.0]
    return (
        f"janus: {n} viewers -> min {row['min_fps']:.1f} / mean {row['mean_fps']:.1f} fps "
        f"received; picture checks {row['checked'] - row['bad']}/{row['checked']} ok; "
        f"Janus {row['janus_cores'] * 100:.1f} % of a core "
        f"({row['janus_cores'] * 1000 / n:.1f} ms CPU per viewer-second); receivers "
        f"{row['receiver_cores'] * 100:.0f} % of a core; presenter sent "
        f"{min(sent):.1f}-{max(sent):.1f} fps; load {os.getloadavg()[0]:.1f}"
    )


def relay_baseline(args: argparse.Namespace) -> int:
    """Today's aiortc relay: the largest room whose every received stream is >= 15 fps."""
    best = 0
    with served_app() as app:
        guests = relay_guests(app, args.max_relay)
        for n in range(2, args.max_relay + 1):
            fps = relay_room(app, n, args.seconds, guests)
            print(f"aiortc relay: {n} participants -> min received fps {fps:.1f}", flush=True)
            if fps < FPS_FLOOR:
                break
            best = n
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", default="5,10,20,30,50,75,100")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--max-relay", type=int, default=4)
    parser.add_argument("--per-process", type=int, default=15)
    args = parser.parse_args()
    args.steps = [int(s) for s in args.steps.split(",")]
    started = time.perf_counter()
    flat = av.VideoFrame.from_ndarray(np.full((480, 640, 3), 128, np.uint8), format="rgb24")
    assert not picture_matches(flat, _lumas()), "the picture check accepts a flat frame"
    print(
        f"640x480 moving content at 30 fps; window {args.seconds:.0f} s; {os.cpu_count()} cores; "
        f"load average {os.getloadavg()} (machine shared with other work)",
        flush=True,
    )
    best, rows, _ = asyncio.run(janus_lecture(args))
    relay = relay_baseline(args)
    print(f"load average at end: {os.getloadavg()}; {time.perf_counter() - started:.0f} s")
    held = next((r for r in rows if r["n"] == best), None)
    per_viewer = f"{held['janus_cores'] * 1000 / best:.1f} ms" if held else "n/a"
    print(
        f"lecture capacity at >= {FPS_FLOOR:.0f} fps (640x480): Janus {best} viewers "
        f"(largest step tried {rows[-1]['n'] if rows else 0}; Janus CPU per viewer {per_viewer} "
        f"per second); baseline aiortc relay {relay} participants "
        f"({max(relay - 1, 0)} viewer(s) per source)"
    )


if __name__ == "__main__":
    main()
