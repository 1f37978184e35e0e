"""The recorder's timeline follows the frames' own timestamps, whatever order they come in.

Local tracks (no network) deliver in real time what real sources deliver: jittered
capture stamps, an exact duplicate, a late frame, a one-second pause, an audio hole and
an audio frame the encoder refuses. The file is read back with PyAV.
"""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from telemed.video import recorder as recorder_module
from telemed.video.recorder import SessionRecorder, Source
from telemed.video.recording_check import check_file

VIDEO_TB = fractions.Fraction(1, 90000)


class Scripted(MediaStreamTrack):
    """Delivers frames at given wall moments (seconds from the first recv), then ends."""

    def __init__(self, kind: str, script: list[tuple[float, Any]]) -> None:
        super().__init__()
        self.kind = kind
        self.script = list(script)
        self.t0: float | None = None

    async def recv(self) -> Any:
        loop = asyncio.get_running_loop()
        if self.t0 is None:
            self.t0 = loop.time()
        if not self.script:
            await asyncio.sleep(3600)  # a live track that went quiet
            raise MediaStreamError
        at, frame = self.script.pop(0)
        await asyncio.sleep(max(0.0, self.t0 + at - loop.time()))
        return frame


def video(pts_seconds: float) -> av.VideoFrame:
    frame = av.VideoFrame(width=64, height=48, format="yuv420p")
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.pts = round(pts_seconds * 90000)
    frame.time_base = VIDEO_TB
    return frame


def audio(start_sample: int, rate: int = 48000, samples: int = 960) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="stereo", samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = rate
    frame.pts = start_sample
    frame.time_base = fractions.Fraction(1, rate)
    return frame


def test_duplicates_late_frames_pauses_and_encoder_errors_keep_the_timeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A loaded machine may make the encoder lag; skipping frames then is right, but here
    # every frame is to be accounted for.
    monkeypatch.setattr(recorder_module, "VIDEO_BACKLOG", 10_000)
    # Video: 30 fps with ±8 ms jitter (a fixed pattern), one exact duplicate, one late
    # frame (older than its predecessor), and a 1 s pause from 1.0 s to 2.0 s; 3 s in all.
    jitter = [0.0, 0.006, -0.004, 0.008, -0.007, 0.003]
    stamps = [i / 30 + jitter[i % 6] for i in range(90) if not 30 <= i < 60]
    vscript: list[tuple[float, Any]] = [(t, video(t)) for t in stamps]
    vscript.insert(10, (stamps[9], video(stamps[9])))  # duplicate of frame 9
    vscript.insert(20, (stamps[18] + 0.001, video(stamps[18] - 0.01)))  # late: older than 18
    # Audio: 20 ms frames for 3 s, a 300 ms hole at 1.5 s, one 44.1 kHz frame at 2.5 s.
    ascript: list[tuple[float, Any]] = []
    for n in range(150):
        t = n * 0.02
        if 1.5 <= t < 1.8:
            continue
        odd = audio(round(t * 44100), 44100)  # another sample rate: the encoder refuses it
        ascript.append((t, odd if n == 125 else audio(n * 960)))
    path = str(tmp_path / "r.mp4")

    async def record() -> Any:
        recorder = SessionRecorder(
            path,
            [Source(Scripted("video", vscript), "u1"), Source(Scripted("audio", ascript), "u1")],
        )
        await recorder.start()
        await asyncio.sleep(3.0)
        lanes = await recorder.stop()
        return recorder, lanes

    recorder, lanes = asyncio.run(asyncio.wait_for(record(), 30))
    by_kind = {lane.kind: lane for lane in lanes}
    assert by_kind["video"].duplicates == 1 and by_kind["video"].late == 1
    assert 0.25 <= by_kind["audio"].silence_seconds <= 0.35  # the hole, filled with silence
    assert any("encoder error" in w for w in recorder.warnings), recorder.warnings
    with av.open(path) as container:
        vstream = container.streams.video[0]
        pts = [float(p.pts * p.time_base) for p in container.demux(vstream) if p.pts is not None]
    assert all(b > a for a, b in zip(pts, pts[1:], strict=False))  # strictly increasing
    gaps = [b - a for a, b in zip(pts, pts[1:], strict=False)]
    assert 0.95 <= max(gaps) <= 1.1, max(gaps)  # the pause stays a pause
    # Captured stamps survive: frames sit where the camera put them (within a millisecond).
    first = stamps[0]
    expected = sorted({round(t - first, 3) for t in stamps})
    assert len(pts) == len(expected)
    assert max(abs((p - pts[0]) - e) for p, e in zip(pts, expected, strict=True)) < 0.002
    # Audio went on after the refused frame; the check sees both streams cover the call.
    check = check_file(path, lanes)
    assert check.status == "ok", check
    audio_check = next(s for s in check.streams if s.kind == "audio")
    assert audio_check.seconds >= 2.9, check
