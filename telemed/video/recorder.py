"""An MP4 recorder (H.264 + AAC) of several live tracks, built on PyAV.

aiortc's `MediaRecorder` sizes a video stream from its first frame, after the MP4
header may already have been written by another stream: with two participants the
second video stream is lost. This recorder waits until every track delivers, declares
every stream with its real size, then records.

Timing follows the call, not a grid. Each track's frames keep their own timestamps
(`pts` × `time_base`, as the sender's capture clock stamped them), rebased to the moment
the recording started: the last frame of each track that arrived by then is at zero.
Real cameras deliver frames at irregular moments and pause; so:

- video: output pts (1/90000 s) strictly increase; an exact duplicate or a frame older
  than the last one written is dropped; a pause stays a pause (the previous picture
  lasts); when the encoder lags, the oldest queued frames are skipped (fewer frames,
  same timeline);
- audio is queued, never dropped to keep up; a hole in its timestamps is filled with
  silence so the sound stays in step with the picture; overlapping frames are dropped;
- a timestamp jump of more than `RESYNC_SECONDS` against the arrival clock (a sender
  restarting its clock) re-anchors the track at its arrival time, with a warning;
- an encoder error is logged and kept in `warnings` (the recording row shows them);
  the frame is skipped and the stream goes on. Only `MAX_ERRORS` errors in a row give up
  on that stream, also recorded.

Frames are copied before they are re-stamped: relay subscribers share frame objects.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fractions
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

__all__ = ["LaneReport", "SessionRecorder", "Source", "stream_name"]

log = logging.getLogger("telemed.video.recorder")

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
VIDEO_BACKLOG = 15  # queued video frames before the oldest are skipped (~0.5 s at 30 fps)
AUDIO_GAP_SECONDS = 0.05  # a hole in audio timestamps longer than this is filled with silence
RESYNC_SECONDS = 3.0
MAX_ERRORS = 50  # encoder errors in a row before a stream is given up
AAC_FRAME = 1024
MAX_WARNINGS = 20
# At stop, media still on its way (network, jitter buffers, a loaded encoder) belongs to the
# call: the recorder waits up to this long for every stream to reach the stop moment.
DRAIN_SECONDS = 5.0
CAUGHT_UP_SECONDS = 0.1


@dataclass(frozen=True)
class Source:
    """One track to record and whose it is (the participant's user id)."""

    track: MediaStreamTrack
    owner: str


@dataclass
class LaneReport:
    """What one recorded stream holds, for the check after stop."""

    owner: str
    kind: str
    expected_seconds: float  # from the start of the recording to stop, or the track's end
    written: int = 0
    duplicates: int = 0
    late: int = 0
    skipped: int = 0
    silence_seconds: float = 0.0
    failed: bool = False


@dataclass(eq=False)
class _Lane:
    source: Source
    stream: Any
    queue: collections.deque[tuple[Any, float]] = field(default_factory=collections.deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # the queue has something
    ended_at: float | None = None  # monotonic moment the track ended
    pump: asyncio.Task[None] | None = None
    task: asyncio.Task[None] | None = None
    # One user of the codec at a time: a cancelled lane's encode may still be running in
    # its worker thread when stop() flushes (concurrent use of an x264 context crashes).
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False
    # timing: a source timestamp (seconds) that maps to `anchor_at` (seconds into the file)
    anchor_src: float | None = None
    anchor_at: float = 0.0
    last_src: float | None = None
    last_pts: int = -1  # video: last output pts
    next_sample: int = 0  # audio: file position of the next sample fed to the resampler
    out_samples: int = 0  # audio: samples handed to the encoder so far
    in_samples: int = 0  # audio: samples fed to the resampler so far (its input clock)
    resampler: Any = None
    errors_in_row: int = 0
    reached: float = 0.0  # seconds into the file of the last frame taken
    report: LaneReport | None = None

    @property
    def kind(self) -> str:
        return str(self.source.track.kind)


class SessionRecorder:
    """Record `sources` to `path` (MP4) until `stop()`."""

    def __init__(self, path: str, sources: list[Source]) -> None:
        self.path = path
        self.sources = sources
        self.container: Any = None
        self.lanes: list[_Lane] = []
        self.frames = 0
        self.warnings: list[str] = []
        self.t0: float | None = None  # monotonic start of the recording
        self.stopped_at: float | None = None
        self.end_at: float | None = None  # seconds into the file where the recording stops
        self._progress = asyncio.Event()
        self._pending: list[_Lane] = []

    # ------------------------------------------------------------ start

    async def start(self, within: float = 10.0) -> None:
        """Start once every track delivered a frame (TimeoutError after `within`)."""
        self._pending = [_Lane(source=s, stream=None) for s in self.sources]
        for lane in self._pending:
            lane.pump = asyncio.ensure_future(self._pump(lane))
        try:
            await asyncio.wait_for(
                asyncio.gather(*(lane.ready.wait() for lane in self._pending)), within
            )
        except BaseException:
            await self._stop_pumps(self._pending)
            raise
        if any(not lane.queue for lane in self._pending):
            await self._stop_pumps(self._pending)
            raise MediaStreamError("a track ended before the recording started")
        self.t0 = time.monotonic()
        self.container = av.open(self.path, mode="w", format="mp4")
        for lane in self._pending:
            # The last frame in by now is the picture/sound at zero; older ones are dropped.
            while len(lane.queue) > 1:
                lane.queue.popleft()
            frame, _ = lane.queue[0]
            lane.stream = self._add_stream(lane.kind, frame)
            # The file names each stream (an empty track is left out, shifting the indexes).
            lane.stream.metadata["handler_name"] = stream_name(lane.source.owner, lane.kind)
            lane.anchor_src = _seconds(frame)
        self.lanes = self._pending
        for lane in self.lanes:
            lane.task = asyncio.ensure_future(self._run(lane))

    def _add_stream(self, kind: str, frame: Any) -> Any:
        if kind == "video":
            stream = self.container.add_stream("libx264", rate=30)
            stream.width, stream.height = frame.width, frame.height
            stream.pix_fmt = "yuv420p"
            stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
            stream.codec_context.time_base = VIDEO_TIME_BASE
            stream.time_base = VIDEO_TIME_BASE
        else:
            stream = self.container.add_stream("aac", rate=frame.sample_rate)
            stream.layout = frame.layout.name
        return stream

    # ------------------------------------------------------------ input

    async def _pump(self, lane: _Lane) -> None:
        """Take frames off the track as they arrive, stamped with their arrival time."""
        try:
            while True:
                frame = await lane.source.track.recv()
                lane.queue.append((frame, time.monotonic()))
                if lane.kind == "video" and self.t0 is not None:
                    while len(lane.queue) > VIDEO_BACKLOG:
                        lane.queue.popleft()
                        if lane.report is not None:
                            lane.report.skipped += 1
                elif self.t0 is None:
                    while len(lane.queue) > 1:  # before the start only the newest counts
                        lane.queue.popleft()
                lane.ready.set()
        except MediaStreamError:
            pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._warn(lane, f"reading the track failed: {exc!r}")
        if lane.ended_at is None:
            lane.ended_at = time.monotonic()
        lane.ready.set()

    async def _run(self, lane: _Lane) -> None:
        assert self.t0 is not None
        lane.report = LaneReport(owner=lane.source.owner, kind=lane.kind, expected_seconds=0.0)
        while True:
            if not lane.queue:
                if lane.ended_at is not None:
                    return
                lane.ready.clear()
                await lane.ready.wait()
                continue
            frame, arrived = lane.queue.popleft()
            await self._write(lane, frame, arrived)

    async def _write(self, lane: _Lane, frame: Any, arrived: float) -> None:
        if lane.closed:
            return
        packets = await asyncio.to_thread(self._encode, lane, frame, arrived)
        for packet in packets:  # muxing stays on the loop: one writer for the file
            self.container.mux(packet)
        self._progress.set()

    # ------------------------------------------------------------ timing and encoding

    def _position(self, lane: _Lane, frame: Any, arrived: float) -> float | None:
        """Seconds into the file for this frame; None for a duplicate or a late frame."""
        assert self.t0 is not None and lane.report is not None
        src = _seconds(frame)
        wall = arrived - self.t0
        if src is None:  # no timestamp: the arrival time is all we know
            src = wall
            if lane.anchor_src is None:
                lane.anchor_src = 0.0
        assert lane.anchor_src is not None
        if lane.last_src is not None and src == lane.last_src:
            lane.report.duplicates += 1
            return None
        at = lane.anchor_at + (src - lane.anchor_src)
        if at - wall > RESYNC_SECONDS or (
            lane.last_src is not None and lane.last_src - src > RESYNC_SECONDS
        ):
            self._warn(lane, f"timestamps jumped by {at - wall:+.1f} s; re-synchronised")
            lane.anchor_src, lane.anchor_at = src, max(wall, 0.0)
            at = lane.anchor_at
        lane.last_src = src
        return at

    def _encode(self, lane: _Lane, frame: Any, arrived: float) -> list[Any]:
        """Encode one frame (runs in a worker thread: x264 must not stall the event loop)."""
        with lane.lock:
            if lane.closed:
                return []
            try:
                at = self._position(lane, frame, arrived)
                if at is None:
                    return []
                lane.reached = max(lane.reached, at)
                if self.end_at is not None and at > self.end_at:
                    return []  # captured after the stop
                packets = (
                    self._encode_video(lane, frame, at)
                    if lane.kind == "video"
                    else self._encode_audio(lane, frame, at)
                )
                lane.errors_in_row = 0
                return packets
            except (av.error.FFmpegError, ValueError, OSError) as exc:
                lane.errors_in_row += 1
                self._warn(lane, f"encoder error: {exc}")
                if lane.errors_in_row >= MAX_ERRORS:
                    self._warn(lane, f"{MAX_ERRORS} encoder errors in a row; stream given up")
                    lane.closed = True
                    if lane.report is not None:
                        lane.report.failed = True
                return []

    def _encode_video(self, lane: _Lane, frame: Any, at: float) -> list[Any]:
        assert lane.report is not None
        pts = round(at * 90000)
        if pts <= lane.last_pts:
            lane.report.late += 1
            return []
        stream = lane.stream
        if (frame.width, frame.height) != (stream.width, stream.height) or (
            frame.format.name != "yuv420p"
        ):
            out = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
        else:
            out = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
        out.pts, out.time_base = pts, VIDEO_TIME_BASE
        packets = list(stream.encode(out))
        lane.last_pts = pts
        lane.report.written += 1
        self.frames += 1
        return packets

    def _encode_audio(self, lane: _Lane, frame: Any, at: float) -> list[Any]:
        assert lane.report is not None
        rate = lane.stream.codec_context.sample_rate
        start = round(at * rate)
        if start < lane.next_sample - frame.samples // 2:
            lane.report.late += 1  # already covered: a repeated or overlapping frame
            return []
        packets: list[Any] = []
        hole = start - lane.next_sample
        if hole > AUDIO_GAP_SECONDS * rate:
            lane.report.silence_seconds += hole / rate
            packets += self._feed_audio(lane, _silence(frame, hole))
        copy = av.AudioFrame.from_ndarray(
            frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name
        )
        copy.sample_rate = frame.sample_rate
        packets += self._feed_audio(lane, copy)
        lane.report.written += 1
        self.frames += 1
        return packets

    def _feed_audio(self, lane: _Lane, frame: Any) -> list[Any]:
        """Resample to the encoder's format in AAC-sized frames, stamped by sample count."""
        rate = lane.stream.codec_context.sample_rate
        if lane.resampler is None:
            lane.resampler = av.AudioResampler(
                format=lane.stream.codec_context.format.name,
                layout=lane.stream.codec_context.layout.name,
                rate=rate,
                frame_size=AAC_FRAME,
            )
        frame.pts, frame.time_base = lane.in_samples, fractions.Fraction(1, frame.sample_rate)
        resampled = lane.resampler.resample(frame)  # raises on a frame of another format
        lane.in_samples += frame.samples
        lane.next_sample += round(frame.samples * rate / frame.sample_rate)
        return self._encode_resampled(lane, resampled)

    def _encode_resampled(self, lane: _Lane, frames: list[Any]) -> list[Any]:
        packets: list[Any] = []
        rate = lane.stream.codec_context.sample_rate
        for out in frames:
            out.pts = lane.out_samples
            lane.out_samples += out.samples
            out.time_base = fractions.Fraction(1, rate)
            packets += lane.stream.encode(out)
        return packets

    def _flush(self, lane: _Lane) -> list[Any]:
        """The encoder's last packets; the lane encodes nothing afterwards."""
        with lane.lock:
            was_closed, lane.closed = lane.closed, True
            if lane.stream is None:
                return []
            packets: list[Any] = []
            if lane.kind == "audio" and lane.resampler is not None and not was_closed:
                with contextlib.suppress(av.error.FFmpegError, ValueError):
                    packets += self._encode_resampled(lane, lane.resampler.resample(None))
            packets += lane.stream.encode(None)
            return packets

    def _warn(self, lane: _Lane, text: str) -> None:
        message = f"{lane.source.owner} {lane.kind}: {text}"
        log.warning("recording %s: %s", self.path, message)
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append("(more warnings not kept)")

    # ------------------------------------------------------------ stop

    async def _stop_pumps(self, lanes: list[_Lane]) -> None:
        for lane in lanes:
            if lane.pump is not None:
                lane.pump.cancel()
        for lane in lanes:
            if lane.pump is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await lane.pump

    async def _drain(self, until: float) -> None:
        """Wait (at most DRAIN_SECONDS) until every live stream has reached `until`."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while any(lane.ended_at is None and lane.reached < until for lane in self.lanes):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), left)

    async def stop(self) -> list[LaneReport]:
        """Stop, write what arrived until now, flush the encoders and close the file."""
        self.stopped_at = time.monotonic()
        if self.t0 is not None:
            self.end_at = self.stopped_at - self.t0
            await self._drain(self.end_at - CAUGHT_UP_SECONDS)
            for lane in self.lanes:
                if lane.ended_at is None and lane.reached < self.end_at - CAUGHT_UP_SECONDS:
                    self._warn(
                        lane,
                        f"media stops at {lane.reached:.2f} s: the rest had not arrived "
                        f"{DRAIN_SECONDS:.0f} s after the stop at {self.end_at:.2f} s",
                    )
        await self._stop_pumps(self._pending)
        for lane in self.lanes:
            if lane.ended_at is None:
                lane.ended_at = self.stopped_at
            lane.ready.set()
        # What arrived before the stop belongs to the recording: the lanes finish their queue.
        for lane in self.lanes:
            if lane.task is not None:
                try:
                    await lane.task
                except Exception as exc:  # a bug, not a media error: still never silent
                    log.exception("recording %s: a stream stopped", self.path)
                    self._warn(lane, f"stream stopped: {exc!r}")
                    if lane.report is not None:
                        lane.report.failed = True
        if self.container is None:
            return []
        reports = []
        for lane in self.lanes:
            try:
                for packet in await asyncio.to_thread(self._flush, lane):
                    self.container.mux(packet)
            except (av.error.FFmpegError, ValueError) as exc:
                self._warn(lane, f"flushing the encoder failed: {exc}")
            if lane.report is not None:
                assert self.t0 is not None and lane.ended_at is not None
                lane.report.expected_seconds = max(0.0, lane.ended_at - self.t0)
                reports.append(lane.report)
        self.container.close()
        self.container = None
        return reports


def stream_name(owner: str, kind: str) -> str:
    """The name of a participant's stream in the file (MP4 handler name)."""
    return f"{owner} {kind}"


def _seconds(frame: Any) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * frame.time_base)


def _silence(like: Any, samples: int) -> Any:
    frame = av.AudioFrame(format=like.format.name, layout=like.layout.name, samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = like.sample_rate
    return frame
