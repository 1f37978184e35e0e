"""The server's own aiortc peer in a room: consented recording and small-room relay.

The server peer joins the room's signaling like any peer (id `server-…`) and is the
offerer of every connection it holds:

- *upstream* (one per participant): receives the participant's audio and video;
- *downstream* (relay rooms, one per viewer and source): sends a source's tracks to a
  viewer through aiortc's `MediaRelay`, which fans out decoded frames, so each
  subscriber costs one encode on the server (hence the participant cap).

Recording adds a `SessionRecorder` (re-encodes, like aiortc's `MediaRecorder`: H.264 +
AAC in MP4) fed by relay subscriptions of the upstream tracks; it only starts after every
participant consented, and stops when consent is withdrawn or someone new is admitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from telemed.core import clock
from telemed.core.settings import Settings
from telemed.video import service
from telemed.video.fresh import FreshTrack
from telemed.video.hub import Hub, LocalPeer
from telemed.video.models import Recording
from telemed.video.recorder import SessionRecorder, Source
from telemed.video.recording_check import CheckResult, check_file, row_fields
from telemed.video.transactions import in_transaction

log = logging.getLogger("telemed.video.server_peer")

TRACK_WAIT_SECONDS = 20.0
# This process, as named on the recordings it keeps alive (for the stale sweep's reason).
INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


async def ensure_server_peer(hub: Hub, room_id: str, settings: Settings, need: str) -> ServerPeer:
    """The server peer of a room in this process, created when a relay or recording needs it."""
    server = hub.servers.get(room_id)
    if server is None:
        mode = await _room_mode(room_id)
        if need == "relay" and mode != "relay":
            return None  # type: ignore[return-value]  # p2p rooms need no server peer to relay
        server = ServerPeer(hub, room_id, settings, relay_mode=mode == "relay")
        hub.servers[room_id] = server
        await server.start()
    return server


async def _room_mode(room_id: str) -> str:
    rid = uuid.UUID(room_id)
    room = await in_transaction(lambda s: service.get_room(session=s, room_id=rid))
    return str(room.mode)


class ServerPeer:
    """aiortc peer of the server in one room (see module docstring)."""

    def __init__(self, hub: Hub, room_id: str, settings: Settings, *, relay_mode: bool) -> None:
        self.hub = hub
        self.room_id = room_id
        self.settings = settings
        self.relay_mode = relay_mode
        self.peer_id = f"server-{uuid.uuid4().hex[:12]}"
        self.relay = MediaRelay()
        # upstream: participant peer -> pc; their tracks by kind
        self.upstream: dict[str, RTCPeerConnection] = {}
        self.tracks: dict[str, dict[str, MediaStreamTrack]] = {}
        self.track_ready: dict[str, asyncio.Event] = {}
        # downstream: (viewer peer, source peer) -> pc
        self.downstream: dict[tuple[str, str], RTCPeerConnection] = {}
        self.known: set[str] = set()
        self.owners: dict[str, str] = {}  # participant peer -> user id
        self.recorder: SessionRecorder | None = None
        self.recording_id: uuid.UUID | None = None
        self.recording_path: str | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._drains: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self.closed = False
        self.local = LocalPeer(
            room_id=room_id,
            peer_id=self.peer_id,
            user_id="server",
            is_host=False,
            admitted=True,
            deliver=self.deliver,
            is_server=True,
        )

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` in the background, kept until the peer closes."""
        task = asyncio.ensure_future(coro)
        self._drains.append(task)

    def _config(self) -> RTCConfiguration:
        # No public STUN by default: aiortc would otherwise try stun.l.google.com.
        return RTCConfiguration(iceServers=[])

    async def start(self) -> None:
        self.hub.add(self.local)
        roster = await self._roster()
        await self._sync(roster)

    async def _roster(self) -> list[dict[str, Any]]:
        rid = uuid.UUID(self.room_id)
        return await in_transaction(
            lambda s: service.roster(session=s, room_id=rid, now=clock.now())
        )

    async def send(self, to: str, event: dict[str, Any]) -> None:
        await self.hub.publish(self.room_id, event, to=to, sender=self.peer_id)

    # ------------------------------------------------------------ membership

    async def _sync(self, roster: list[dict[str, Any]]) -> None:
        """Connect new admitted participants; drop those gone."""
        present = {p["peer"] for p in roster if p["state"] == "admitted" and p["peer"]}
        self.owners.update({p["peer"]: p["user_id"] for p in roster if p["peer"]})
        async with self._lock:
            for gone in self.known - present:
                await self._drop(gone)
            new = present - self.known
            self.known = present
        if new and self.recorder is not None:
            await self.stop_recording(reason="a participant was admitted during the recording")
        if self.relay_mode or self.recorder is not None or self.recording_id is not None:
            for peer in sorted(new):
                await self._open_upstream(peer)

    async def _drop(self, peer: str) -> None:
        pcs = [self.upstream.pop(peer, None)]
        for key in [k for k in self.downstream if peer in k]:
            pcs.append(self.downstream.pop(key))
        self.tracks.pop(peer, None)
        self.track_ready.pop(peer, None)
        for pc in pcs:
            if pc is not None:
                await pc.close()

    async def _open_upstream(self, peer: str) -> None:
        if peer in self.upstream or self.closed:
            return
        pc = RTCPeerConnection(self._config())
        self.upstream[peer] = pc
        self.tracks[peer] = {}
        ready = self.track_ready[peer] = asyncio.Event()
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")

        flowing: set[str] = set()

        def first_frame(kind: str) -> None:
            # A participant is ready once both its audio and video deliver frames.
            flowing.add(kind)
            if {"audio", "video"} <= flowing and not ready.is_set():
                ready.set()
                if self.relay_mode:
                    self.spawn(self._fan_out(peer))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tracks.setdefault(peer, {})[track.kind] = track
            # Keep draining the source so its queue never grows while nobody watches.
            sub = self.relay.subscribe(track, False)
            self.spawn(_drain(sub, lambda: first_frame(track.kind)))

        await pc.setLocalDescription(await pc.createOffer())
        await self.send(
            peer,
            {"type": "offer", "sdp": pc.localDescription.sdp, "purpose": "upstream"},
        )

    async def _fan_out(self, source: str) -> None:
        """Relay rooms: send the new source to every viewer, and every source to it."""
        for viewer in sorted(self.known):
            if viewer != source:
                await self._open_downstream(viewer, source)
        for other in sorted(self.tracks):
            if other != source and self.track_ready.get(other, asyncio.Event()).is_set():
                await self._open_downstream(source, other)

    async def _open_downstream(self, viewer: str, source: str) -> None:
        key = (viewer, source)
        if key in self.downstream or self.closed or source not in self.tracks:
            return
        pc = RTCPeerConnection(self._config())
        self.downstream[key] = pc
        for kind in ("audio", "video"):
            track = self.tracks[source].get(kind)
            if track is not None:
                pc.addTrack(FreshTrack(self.relay, track))
        await pc.setLocalDescription(await pc.createOffer())
        await self.send(
            viewer,
            {
                "type": "offer",
                "sdp": pc.localDescription.sdp,
                "purpose": "downstream",
                "source": source,
            },
        )

    # ------------------------------------------------------------ signaling in

    async def deliver(self, envelope: dict[str, Any]) -> None:
        event = envelope["event"]
        kind = event.get("type")
        sender = envelope.get("sender")
        try:
            if kind in ("offer", "answer", "candidate") and sender:
                if envelope.get("to") == self.peer_id:
                    await self._signal_in(str(sender), str(kind), event)
            elif kind == "participants":
                await self._sync(event.get("participants", []))
            elif kind == "bye" and event.get("peer") in self.known:
                async with self._lock:
                    self.known.discard(event["peer"])
                    await self._drop(event["peer"])
            elif kind == "consent" and event.get("granted") is False:
                await self.stop_recording(reason="consent withdrawn")
            elif kind == "_record_stop":
                await self.stop_recording(reason="stopped by the host")
        except Exception:
            log.exception("server peer failed on %s from %s", kind, sender)

    async def _signal_in(self, sender: str, kind: str, event: dict[str, Any]) -> None:
        """An answer or candidate for one of our connections; anything else is refused."""
        if kind == "offer":
            await self._refuse(sender, "invalid", "the server peer makes the offers; answer them")
            return
        pc = self._pc_for(sender, event)
        if pc is None:
            await self._refuse(
                sender,
                "no_offer" if kind == "answer" else "unknown_peer",
                f"the server peer has no {event.get('purpose') or 'mesh'} connection with you"
                + (f" for source {event['source']}" if event.get("source") else ""),
            )
            return
        if kind == "answer":
            if pc.signalingState != "have-local-offer":
                await self._refuse(sender, "no_offer", "that offer was answered already")
                return
            try:
                await pc.setRemoteDescription(
                    RTCSessionDescription(sdp=str(event.get("sdp")), type="answer")
                )
            except Exception as exc:  # aiortc raises ValueError and others on bad SDP
                log.warning("server peer: answer from %s refused: %r", sender, exc)
                await self._refuse(sender, "invalid", f"the answer was refused: {exc}")
            return
        cand = event.get("candidate")
        if not cand or not cand.get("candidate"):
            return  # end of candidates
        try:
            candidate = candidate_from_sdp(str(cand["candidate"]).removeprefix("candidate:"))
            candidate.sdpMid = cand.get("sdpMid")
            candidate.sdpMLineIndex = cand.get("sdpMLineIndex")
            await pc.addIceCandidate(candidate)
        except Exception as exc:
            log.warning("server peer: candidate from %s refused: %r", sender, exc)
            await self._refuse(sender, "invalid", f"the candidate was refused: {exc!r}")

    async def _refuse(self, to: str, code: str, detail: str) -> None:
        await self.send(to, {"type": "error", "code": code, "detail": detail})

    def _pc_for(self, sender: str, event: dict[str, Any]) -> RTCPeerConnection | None:
        if event.get("purpose") == "downstream" and event.get("source"):
            return self.downstream.get((sender, str(event["source"])))
        return self.upstream.get(sender)

    # ------------------------------------------------------------ recording

    async def start_recording(self, recording_id: uuid.UUID, path: str) -> None:
        """Record every admitted participant once their tracks arrive."""
        self.recording_id, self.recording_path = recording_id, path
        self._heartbeat = asyncio.ensure_future(self._beat(recording_id))
        roster = await self._roster()
        await self._sync(roster)
        for peer in sorted(self.known):
            await self._open_upstream(peer)
        waits = [self.track_ready[p].wait() for p in self.known if p in self.track_ready]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), TRACK_WAIT_SECONDS)
        sources = [
            # Not FreshTrack: the recorder keeps every audio frame (its own queue).
            Source(self.relay.subscribe(self.tracks[p][kind], buffered=True), self.owners[p])
            for p in sorted(self.tracks)
            for kind in ("video", "audio")
            if kind in self.tracks[p]
        ]
        log.info(
            "recording %s: %d tracks from %s (known %s)",
            recording_id,
            len(sources),
            {p: sorted(t) for p, t in self.tracks.items()},
            sorted(self.known),
        )
        if not sources:
            await self._finish(failed=True, reason="no media arrived from the participants")
            return
        await asyncio.to_thread(Path(path).parent.mkdir, parents=True, exist_ok=True)
        recorder = SessionRecorder(path, sources)
        try:
            await recorder.start()
        except (TimeoutError, MediaStreamError):
            _unsubscribe(sources)
            await self._finish(failed=True, reason="media stopped before the recording started")
            return
        self.recorder = recorder
        await self.hub.publish(
            self.room_id,
            recording_message("started", recording_id),
            audience="everyone",
        )

    async def _beat(self, recording_id: uuid.UUID) -> None:
        """Keep the row's heartbeat fresh while this recording runs (the stale sweep)."""
        every = self.settings.video.recording_heartbeat_seconds
        while self.recording_id == recording_id:
            warnings = list(self.recorder.warnings) if self.recorder is not None else None
            try:
                await in_transaction(
                    lambda s, w=warnings: service.recording_heartbeat(  # type: ignore[misc]
                        session=s,
                        recording_id=recording_id,
                        now=clock.now(),
                        instance=INSTANCE,
                        warnings=w,
                    )
                )
            except Exception as exc:  # a database hiccup: the next beat tries again
                log.warning("recording %s: heartbeat failed: %r", recording_id, exc)
            await asyncio.sleep(every)

    async def stop_recording(self, *, reason: str) -> None:
        if self.recording_id is None:
            return
        recorder, self.recorder = self.recorder, None
        check: CheckResult | None = None
        warnings: list[str] = []
        if recorder is not None and self.recording_path is not None:
            lanes = await recorder.stop()
            _unsubscribe(recorder.sources)
            warnings = recorder.warnings
            check = await asyncio.to_thread(check_file, self.recording_path, lanes)
            if check.status != "ok":
                log.warning("recording %s: check %s: %s", self.recording_id, check.status, check)
        await self._finish(failed=recorder is None, reason=reason, check=check, warnings=warnings)
        if not self.relay_mode:
            await self.close(reason="recording finished")

    async def _finish(
        self,
        *,
        failed: bool,
        reason: str,
        check: CheckResult | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        rec_id = self.recording_id
        self.recording_id = self.recording_path = None
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        if rec_id is None:
            return
        failed = failed or check is None or check.status == "unreadable"
        await finish_checked(rec_id, check=check, failed=failed, reason=reason, warnings=warnings)
        await self.hub.publish(
            self.room_id,
            recording_message(
                "failed" if failed else "stopped",
                rec_id,
                reason=reason,
                check=check,
                warnings=warnings or [],
            ),
            audience="everyone",
        )

    # ------------------------------------------------------------ end

    async def close(self, *, reason: str = "closed") -> None:
        if self.closed:
            return
        if self.recording_id is not None:
            await self.stop_recording(reason=reason)
        self.closed = True
        self.hub.remove(self.local)
        if self.hub.servers.get(self.room_id) is self:
            del self.hub.servers[self.room_id]
        for task in self._drains:
            task.cancel()
        pcs = [*self.upstream.values(), *self.downstream.values()]
        self.upstream.clear()
        self.downstream.clear()
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.hub.publish(
                self.room_id,
                {
                    "type": "bye",
                    "peer": self.peer_id,
                    "user_id": None,
                    "reconnecting": False,
                    "grace_until": None,
                    "reason": reason,
                },
                audience="everyone",
                sender=self.peer_id,
            )


async def finish_checked(
    recording_id: uuid.UUID,
    *,
    check: CheckResult | None,
    failed: bool,
    reason: str,
    warnings: list[str] | None,
) -> Recording:
    """Finish a recording's row with the check of its file, in its own transaction."""
    return await in_transaction(
        lambda s: service.finish_recording(
            session=s,
            recording_id=recording_id,
            now=clock.now(),
            failed=failed,
            reason=reason,
            warnings=warnings,
            **row_fields(check),
        )
    )


def _unsubscribe(sources: list[Source]) -> None:
    for source in sources:  # relay subscriptions queue frames until stopped
        source.track.stop()


def recording_message(
    state: str,
    recording_id: uuid.UUID,
    *,
    reason: str | None = None,
    check: CheckResult | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """The `recording` message (docs/video.md): the same fields in every state."""
    return {
        "type": "recording",
        "state": state,
        "recording_id": str(recording_id),
        "duration_seconds": check.duration_seconds if check else None,
        "reason": reason,
        "check_status": check.status if check else None,
        "video_seconds": check.video_seconds if check else None,
        "audio_seconds": check.audio_seconds if check else None,
        "streams": check.streams_json() if check else [],
        "warnings": list(warnings or []),
    }


async def _drain(track: MediaStreamTrack, on_first: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):
        await track.recv()
        on_first()
        while True:
            await track.recv()
