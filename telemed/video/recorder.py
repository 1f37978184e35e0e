"""An MP4 recorder (H.264 + AAC) of several live tracks, built on PyAV.

aiortc's `MediaRecorder` sizes a video stream from its first frame, after the MP4
header may already have been written by another stream: with two participants the
second video stream is lost. This recorder reads one frame of every track first,
declares every stream with its real size, then records; timestamps of each track
start at zero, so the streams line up to within a frame of each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import threading
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

__all__ = ["SessionRecorder"]


class _Lane:
    def __init__(self, track: MediaStreamTrack, stream: Any, first: Any) -> None:
        self.track, self.stream, self.first = track, stream, first
        self.origin: int | None = None
        self.task: asyncio.Task[None] | None = None
        # One user of the codec at a time: a cancelled lane's encode may still be running in
        # its worker thread when stop() flushes (concurrent use of an x264 context crashes).
        self.lock = threading.Lock()
        self.closed = False


class SessionRecorder:
    """Record `tracks` to `path` (MP4) until `stop()`."""

    def __init__(self, path: str, tracks: list[MediaStreamTrack]) -> None:
        self.path = path
        self.tracks = tracks
        self.container: Any = None
        self.lanes: list[_Lane] = []
        self.frames = 0

    async def start(self, within: float = 10.0) -> None:
        firsts: list[Any] = await asyncio.wait_for(
            asyncio.gather(*(t.recv() for t in self.tracks)), within
        )
        self.container = av.open(self.path, mode="w", format="mp4")
        for track, frame in zip(self.tracks, firsts, strict=True):
            if track.kind == "video":
                stream = self.container.add_stream("libx264", rate=30)
                stream.width, stream.height = frame.width, frame.height
                stream.pix_fmt = "yuv420p"
                stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
            else:
                stream = self.container.add_stream("aac", rate=frame.sample_rate)
            self.lanes.append(_Lane(track, stream, frame))
        for lane in self.lanes:
            lane.task = asyncio.ensure_future(self._run(lane))

    def _encode(self, lane: _Lane, frame: Any) -> list[Any]:
        """Encode one frame (runs in a worker thread: x264 must not stall the event loop)."""
        with lane.lock:
            if lane.closed:
                return []
            return self._encode_locked(lane, frame)

    @staticmethod
    def _flush(lane: _Lane) -> list[Any]:
        """The encoder's last packets; the lane encodes nothing afterwards."""
        with lane.lock:
            lane.closed = True
            return list(lane.stream.encode(None))

    def _encode_locked(self, lane: _Lane, frame: Any) -> list[Any]:
        if frame.pts is not None:
            if lane.origin is None:
                lane.origin = frame.pts
            frame.pts -= lane.origin
        if lane.track.kind == "video":
            if (frame.width, frame.height) != (lane.stream.width, lane.stream.height):
                frame = frame.reformat(width=lane.stream.width, height=lane.stream.height)
            if frame.time_base is None:
                frame.time_base = fractions.Fraction(1, 90000)
        return list(lane.stream.encode(frame))

    async def _run(self, lane: _Lane) -> None:
        frame = lane.first
        while True:
            packets = await asyncio.to_thread(self._encode, lane, frame)
            for packet in packets:  # muxing stays on the loop: one writer for the file
                self.container.mux(packet)
            self.frames += 1
            try:
                frame = await lane.track.recv()
            except MediaStreamError:
                return

    async def stop(self) -> None:
        """Stop, flush the encoders and close the file."""
        for lane in self.lanes:
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await lane.task
        if self.container is None:
            return
        for lane in self.lanes:
            with contextlib.suppress(Exception):
                for packet in await asyncio.to_thread(self._flush, lane):
                    self.container.mux(packet)
        self.container.close()
        self.container = None
