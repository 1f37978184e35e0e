"""The check of a stopped recording: does every stream of the file cover the call?

The file is read back with PyAV (packets only, nothing decoded): per stream, the span
from its first packet to the end of its last one. Each stream is compared with what the
recorder expected of it, the time from the start of the recording to its stop (or to
the moment that participant's track ended). A stream covering less than
`COVERAGE` of it makes the check `short`; a file that cannot be read is `unreadable`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av

from telemed.video.recorder import LaneReport, stream_name

__all__ = ["COVERAGE", "CheckResult", "check_file", "row_fields"]

COVERAGE = 0.95
SLACK_SECONDS = 0.1  # a stream may end one audio/video frame early


@dataclass(frozen=True)
class StreamCheck:
    user_id: str
    kind: str
    seconds: float
    expected_seconds: float
    frames: int
    ok: bool
    # what the recorder dropped: exact duplicates, frames older than the last one written,
    # video frames skipped while the encoder lagged; audio holes filled with silence
    duplicates: int = 0
    late: int = 0
    skipped: int = 0
    silence_seconds: float = 0.0


@dataclass(frozen=True)
class CheckResult:
    status: str  # ok | short | unreadable
    duration_seconds: float | None
    size_bytes: int | None
    streams: list[StreamCheck]

    def streams_json(self) -> list[dict[str, Any]]:
        return [asdict(s) for s in self.streams]

    @property
    def video_seconds(self) -> float | None:
        return _least(self.streams, "video")

    @property
    def audio_seconds(self) -> float | None:
        return _least(self.streams, "audio")


def _least(streams: list[StreamCheck], kind: str) -> float | None:
    values = [s.seconds for s in streams if s.kind == kind]
    return min(values) if values else None


def stream_spans(path: str) -> tuple[float | None, dict[str, tuple[float, int]]]:
    """(container duration, {stream name: (seconds covered, packets)}) of a recording."""
    with av.open(path) as container:
        # MP4 keeps `handler_name`; Matroska/WebM (recordings through Janus) `HANDLER_NAME`
        names = {
            s.index: str(
                s.metadata.get("handler_name") or s.metadata.get("HANDLER_NAME") or s.index
            )
            for s in container.streams
        }
        duration = float(container.duration) / 1_000_000 if container.duration else None
        first: dict[int, float] = {}
        end: dict[int, float] = {}
        count: dict[int, int] = {}
        for packet in container.demux():
            if packet.pts is None or packet.time_base is None:
                continue
            i = packet.stream.index
            start = float(packet.pts * packet.time_base)
            stop = start + float((packet.duration or 0) * packet.time_base)
            first[i] = min(first.get(i, start), start)
            end[i] = max(end.get(i, stop), stop)
            count[i] = count.get(i, 0) + 1
    return duration, {names[i]: (end[i] - first[i], count[i]) for i in first}


def check_file(path: str, lanes: list[LaneReport]) -> CheckResult:
    """Compare the file's streams with the recorder's lanes (runs in a worker thread)."""
    p = Path(path)
    if not p.exists():
        return CheckResult("unreadable", None, None, [])
    size = p.stat().st_size
    try:
        duration, spans = stream_spans(path)
    except (OSError, av.error.FFmpegError):
        return CheckResult("unreadable", None, size, [])
    streams = []
    for lane in lanes:
        seconds, frames = spans.get(stream_name(lane.owner, lane.kind), (0.0, 0))
        need = max(0.0, COVERAGE * lane.expected_seconds - SLACK_SECONDS)
        streams.append(
            StreamCheck(
                user_id=lane.owner,
                kind=lane.kind,
                seconds=round(seconds, 3),
                expected_seconds=round(lane.expected_seconds, 3),
                frames=frames,
                ok=seconds >= need and not lane.failed,
                duplicates=lane.duplicates,
                late=lane.late,
                skipped=lane.skipped,
                silence_seconds=round(lane.silence_seconds, 3),
            )
        )
    status = "ok" if streams and all(s.ok for s in streams) else "short"
    return CheckResult(status, duration, size, streams)


def row_fields(check: CheckResult | None) -> dict[str, Any]:
    """What `recordings.finish_recording` keeps of a check (all None without one)."""
    if check is None:
        return dict.fromkeys(
            (
                "duration_seconds",
                "size_bytes",
                "check_status",
                "check_streams",
                "video_seconds",
                "audio_seconds",
            )
        )
    return {
        "duration_seconds": check.duration_seconds,
        "size_bytes": check.size_bytes,
        "check_status": check.status,
        "check_streams": check.streams_json(),
        "video_seconds": check.video_seconds,
        "audio_seconds": check.audio_seconds,
    }
