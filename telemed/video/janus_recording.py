"""Recording a Janus room (issue 21): Janus's recorder, `janus-pp-rec`, one file per session.

Consent rules are those of every recording (`recordings.start_recording`: the host starts
it, every admitted participant consented, nobody refused, someone besides the host is in).
Then the VideoRoom records every publisher of the room (`edit` with `new_rec_dir`, then
`enable_recording`) as Janus's own `.mjr` files, one per publisher and medium, in
`<recordings_dir>/<room>/<recording>.mjr/` (a directory Janus and the app both see at the
same path). Stopping (`enable_recording` false) closes them; each is converted with
`janus-pp-rec` (VP8 → `.webm`, Opus → `.opus`, packets re-ordered, nothing re-encoded),
and the presenter's video and audio are put side by side in time into one WebM
(`<recordings_dir>/<room>/<recording>.webm`, `ffmpeg -c copy`: still no re-encode). The
file is then checked (`recording_check.check_file`) and the row finished as any
recording, so retention and legal hold apply unchanged. The `.mjr` directory is deleted.

Use (the room's Janus id and secret are the caller's, see `sfu.JanusSfu.create_room`)::

    recorder = JanusRoomRecorder(sfu, settings=settings.video)
    rec = await recorder.start(room_id=room.id, janus_room=jid, secret=s, by=host)
    ...
    rec = await recorder.stop(presenter_feed=feed_id, presenter=host.id)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from telemed.core import clock
from telemed.core.errors import Conflict
from telemed.core.settings import VideoSettings
from telemed.identity.models import User
from telemed.video import service
from telemed.video.models import Recording
from telemed.video.recorder import LaneReport, stream_name
from telemed.video.recording_check import CheckResult, check_file
from telemed.video.server_peer import INSTANCE, finish_checked
from telemed.video.sfu import JanusSfu
from telemed.video.transactions import in_transaction

__all__ = ["MEDIA_TYPE", "JanusRoomRecorder", "MjrTrack", "combine", "mjr_tracks"]

log = logging.getLogger("telemed.video.janus_recording")

MEDIA_TYPE = "video/webm"
PP_REC = "janus-pp-rec"
FFMPEG = "ffmpeg"
TOOL_SECONDS = 300.0  # janus-pp-rec / ffmpeg of one session must end within this
# videoroom-<room>-user-<feed>-<microseconds>-<audio|video>-<m-line index>.mjr
_NAME = re.compile(r"^videoroom-.+-user-(?P<feed>.+)-(?P<us>\d+)-(?P<kind>audio|video)-\d+\.mjr$")


@dataclass(frozen=True)
class MjrTrack:
    """One `.mjr` file Janus wrote: a publisher's (feed's) audio or video from `started_us`."""

    path: Path
    feed: str
    kind: str
    started_us: int


def mjr_tracks(directory: Path) -> list[MjrTrack]:
    """The VideoRoom's recordings in `directory`, earliest first (other files ignored)."""
    out = []
    for p in directory.glob("*.mjr"):
        m = _NAME.match(p.name)
        if m is not None:
            out.append(MjrTrack(p, m["feed"], m["kind"], int(m["us"])))
    return sorted(out, key=lambda t: (t.started_us, t.kind))


async def _run(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), TOOL_SECONDS)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, f"{args[0]} did not finish within {TOOL_SECONDS:.0f} s"
    return proc.returncode or 0, out.decode(errors="replace")


async def _first_packet_us(track: MjrTrack) -> int:
    """When the first packet was written (`u` of the .mjr header, µs since the epoch)."""
    code, out = await _run(PP_REC, "-j", str(track.path))
    with contextlib.suppress(ValueError, IndexError):
        header = json.loads(out[out.index("{") : out.rindex("}") + 1])
        return int(header.get("u") or header.get("s") or track.started_us)
    return track.started_us


async def _convert(track: MjrTrack, out_dir: Path) -> Path:
    """janus-pp-rec: the .mjr's packets, re-ordered, into .webm (VP8) or .opus (Opus)."""
    target = out_dir / (track.path.stem + (".webm" if track.kind == "video" else ".opus"))
    code, out = await _run(PP_REC, str(track.path), str(target))
    if code != 0 or not target.exists() or target.stat().st_size == 0:
        raise RuntimeError(f"janus-pp-rec failed on {track.path.name}: {out[-300:]}")
    return target


async def combine(
    *, video: Path | None, audio: Path | None, audio_delay: float, owner: str, out: Path
) -> None:
    """One WebM of a publisher's video and audio, audio shifted by `audio_delay` seconds
    against the video (their first packets' distance); streams named `<owner> video|audio`."""
    args = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y"]
    maps: list[str] = []
    meta: list[str] = []
    index = 0
    for path, kind, delay in ((video, "video", 0.0), (audio, "audio", audio_delay)):
        if path is None:
            continue
        args += ["-itsoffset", f"{delay:.6f}", "-i", str(path)]
        maps += ["-map", f"{index}:{kind[0]}:0"]
        meta += [f"-metadata:s:{kind[0]}:0", f"handler_name={stream_name(owner, kind)}"]
        index += 1
    code, text = await _run(*args, *maps, "-c", "copy", *meta, "-f", "webm", str(out))
    if code != 0:
        raise RuntimeError(f"ffmpeg could not combine the recording: {text[-300:]}")


class JanusRoomRecorder:
    """Start and stop the recording of one Janus room; one instance per recording."""

    def __init__(self, sfu: JanusSfu, *, settings: VideoSettings) -> None:
        self.sfu = sfu
        self.settings = settings
        self.recording_id: uuid.UUID | None = None
        self.path: Path | None = None
        self.parts: Path | None = None
        self.janus_room: str | None = None
        self.secret: str | None = None
        self._started = 0.0
        self._heartbeat: asyncio.Task[None] | None = None

    async def start(
        self, *, room_id: uuid.UUID, janus_room: str, secret: str, by: User
    ) -> Recording:
        """Open the row (consent gate as for every recording: Conflict/Forbidden otherwise),
        then have Janus record every publisher of the room."""

        def _open(s: Session) -> Recording:
            rec = service.start_recording(
                session=s, room_id=room_id, by=s.merge(by), now=clock.now(), settings=self.settings
            )
            rec.path = str(Path(rec.path).with_suffix(".webm"))
            rec.media_type = MEDIA_TYPE
            s.flush()
            return rec

        rec: Recording = await in_transaction(_open)
        self.recording_id, self.path = rec.id, Path(rec.path)
        self.parts = self.path.with_suffix(".mjr").absolute()  # Janus's working dir differs
        self.janus_room, self.secret = janus_room, secret
        try:
            await asyncio.to_thread(self.parts.mkdir, parents=True, exist_ok=True)
            await self.sfu.set_recording(
                room=janus_room, secret=secret, record=True, rec_dir=str(self.parts)
            )
        except Exception as exc:
            await self._finish(check=None, reason=f"Janus did not start recording: {exc}")
            raise
        self._started = time.monotonic()
        self._heartbeat = asyncio.ensure_future(self._beat(rec.id))
        return rec

    async def _beat(self, recording_id: uuid.UUID) -> None:
        """Keep the row's heartbeat fresh while Janus records (the stale sweep)."""
        while self.recording_id == recording_id:
            with contextlib.suppress(Exception):  # a database hiccup: the next beat tries again
                await in_transaction(
                    lambda s: service.recording_heartbeat(
                        session=s, recording_id=recording_id, now=clock.now(), instance=INSTANCE
                    )
                )
            await asyncio.sleep(self.settings.recording_heartbeat_seconds)

    async def stop(
        self, *, presenter_feed: str, presenter: uuid.UUID, reason: str = "stopped by the host"
    ) -> Recording:
        """Stop Janus's recorder, build the session's file from the presenter's feed, check
        it, and finish the row (failed when nothing playable came out)."""
        if self.recording_id is None or self.parts is None or self.path is None:
            raise Conflict("nothing is being recorded", code="not_recording")
        elapsed = time.monotonic() - self._started
        assert self.janus_room is not None and self.secret is not None
        try:
            await self.sfu.set_recording(room=self.janus_room, secret=self.secret, record=False)
        except Exception as exc:  # Janus gone: its files cannot be trusted to be complete
            await asyncio.to_thread(shutil.rmtree, self.parts, True)
            return await self._finish(check=None, reason=f"Janus did not stop recording: {exc}")
        warnings: list[str] = []
        check: CheckResult | None = None
        try:
            check = await self._build(presenter_feed, str(presenter), elapsed, warnings)
        except RuntimeError as exc:
            log.warning("recording %s: %s", self.recording_id, exc)
            return await self._finish(check=None, reason=str(exc), warnings=warnings)
        finally:
            await asyncio.to_thread(shutil.rmtree, self.parts, True)
        return await self._finish(check=check, reason=reason, warnings=warnings)

    async def _build(
        self, feed: str, owner: str, elapsed: float, warnings: list[str]
    ) -> CheckResult:
        assert self.parts is not None and self.path is not None
        tracks = await asyncio.to_thread(mjr_tracks, self.parts)
        mine = {
            kind: [t for t in tracks if t.feed == feed and t.kind == kind]
            for kind in ("video", "audio")
        }
        if not mine["video"] and not mine["audio"]:
            raise RuntimeError(f"Janus recorded nothing of the presenter's feed {feed}")
        for kind, found in mine.items():
            for later in found[1:]:  # the presenter published again during the recording
                warnings.append(f"{kind} segment {later.path.name} is not in the file")
        others = sorted({t.feed for t in tracks} - {feed})
        if others:
            warnings.append(f"feeds not in the file (not the presenter): {', '.join(others)}")
        converted: dict[str, Path | None] = {"video": None, "audio": None}
        firsts: dict[str, int] = {}
        for kind, found in mine.items():
            if found:
                converted[kind] = await _convert(found[0], self.parts)
                firsts[kind] = await _first_packet_us(found[0])
        delay = 0.0
        if "video" in firsts and "audio" in firsts:
            delay = (firsts["audio"] - firsts["video"]) / 1e6
        await combine(
            video=converted["video"],
            audio=converted["audio"],
            audio_delay=delay,
            owner=owner,
            out=self.path,
        )
        lanes = [LaneReport(owner=owner, kind=k, expected_seconds=elapsed) for k in firsts]
        return await asyncio.to_thread(check_file, str(self.path), lanes)

    async def _finish(
        self, *, check: CheckResult | None, reason: str, warnings: list[str] | None = None
    ) -> Recording:
        rec_id, self.recording_id = self.recording_id, None
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        assert rec_id is not None
        failed = check is None or check.status == "unreadable"
        return await finish_checked(
            rec_id, check=check, failed=failed, reason=reason, warnings=warnings
        )
