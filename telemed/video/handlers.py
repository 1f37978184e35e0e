"""The state of one signaling socket, its plumbing and the handlers of its messages.

`SocketSession` (signaling.py) adds the socket's life: authenticate, join, the receive
loop, delivery from the hub, leave. The handlers here answer what an admitted peer
sends: `offer`/`answer`/`candidate` (relayed), `admit`, `deny`, `chat`, `consent`,
`record`, `ping`, `bye`. Each message touching the session record runs in one short
transaction (transactions.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from fastapi import WebSocket
from sqlmodel import Session

from telemed.core import clock
from telemed.core.errors import Conflict, Forbidden, Invalid
from telemed.core.settings import Settings
from telemed.identity.models import User
from telemed.video import janus_record, service
from telemed.video.hub import Hub, LocalPeer, hub_for
from telemed.video.janus_rooms import janus_rooms
from telemed.video.models import RoomMode
from telemed.video.protocol import (
    CLIENT_TYPES,
    PURPOSES,
    SIGNAL_TYPES,
    BadMessage,
    LinkKey,
    TokenBucket,
    link_of,
    text_of,
    uuid_of,
)
from telemed.video.server_peer import ensure_server_peer
from telemed.video.transactions import in_transaction

__all__ = ["LECTURE_GUARD_SECONDS", "RoomSocket"]

log = logging.getLogger("telemed.video.handlers")

# How often the presenter's socket checks a lecture's Janus publishers (guard_lecture).
LECTURE_GUARD_SECONDS = 2.0


class RoomSocket:
    """One WebSocket connection to a room: its state and the handlers of its messages."""

    def __init__(self, websocket: WebSocket, room_id: str, settings: Settings) -> None:
        self.ws = websocket
        self.room_id = room_id
        self.settings = settings
        self.peer_id = uuid.uuid4().hex
        self.user: User | None = None
        self.peer: LocalPeer | None = None
        self.hub: Hub = hub_for(settings)
        self.bucket = TokenBucket(settings.video.messages_per_second, settings.video.message_burst)
        self.dropped = 0
        self._pending: asyncio.Future[Any] | None = None  # a frame received, not handled yet
        self.intentional = False
        self.closed = False
        self._send_lock = asyncio.Lock()
        # Negotiation state of this socket: admitted peers of the room as last seen,
        # offers received and not answered yet, connections offered or answered.
        self.room_peers: set[str] = set()
        self.offers_in: set[LinkKey] = set()
        self.links: set[LinkKey] = set()
        # The room as the join found it; on Janus, this admission's token.
        self.mode, self.kind, self.title = "", "", ""
        self.janus_token: str | None = None
        self.ended = False  # the session ended when this socket left
        self.guard: asyncio.Task[None] | None = None  # a lecture's presenter: guard_lecture

    # ------------------------------------------------------------ plumbing

    async def send(self, event: dict[str, Any]) -> None:
        """Send one message to this socket (never two at once)."""
        if self.closed:
            return
        async with self._send_lock:
            await self.ws.send_text(json.dumps(event, default=str))

    async def close(self, code: int, reason: str) -> None:
        """Close this socket once, with an application close code."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, reason=reason[:120])

    async def error(self, code: str, detail: str, **extra: Any) -> None:
        """An `error` message: the request was refused, the socket stays open."""
        await self.send({"type": "error", "code": code, "detail": detail, **extra})

    async def roster(self) -> list[dict[str, Any]]:
        """The room's roster, read in its own transaction."""
        rid = uuid.UUID(self.room_id)
        return await in_transaction(
            lambda s: service.roster(session=s, room_id=rid, now=clock.now())
        )

    async def broadcast_roster(self, roster: list[dict[str, Any]] | None = None) -> None:
        """Everyone learns the participants; the hosts, who waits.

        `roster`: read by the caller inside the transaction that changed it (under the
        room's row lock: the state that transaction committed), published at once. The
        roster is then read again, after the commit, and published again when it changed:
        a change committed meanwhile by another socket may have been published before ours
        (or before this socket was in the hub), and the last word must be the newest.
        """
        if roster is not None:
            await self._publish_roster(roster)
        fresh = await self.roster()
        if fresh != roster:
            await self._publish_roster(fresh)

    async def _publish_roster(self, roster: list[dict[str, Any]]) -> None:
        await self.hub.publish(
            self.room_id, {"type": "participants", "participants": roster}, audience="everyone"
        )
        waiting = [p for p in roster if p["state"] == "waiting"]
        await self.hub.publish(
            self.room_id, {"type": "waiting", "waiting": waiting}, audience="hosts"
        )

    # ------------------------------------------------------------ messages

    async def handle(self, msg: dict[str, Any]) -> None:
        """Answer one message of a joined socket (refusals raise BadMessage or DomainError)."""
        kind = msg["type"]
        assert self.peer is not None and self.user is not None
        if kind not in CLIENT_TYPES:
            raise BadMessage(f"unknown message type {kind!r}", "unknown_type")
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "join":
            raise BadMessage("already joined", "already_joined")
        elif kind == "bye":
            self.intentional = True
        elif kind in SIGNAL_TYPES:
            await self.signal(kind, msg)
        elif kind in ("admit", "deny"):
            await self.admission(kind, uuid_of(msg, "user_id"))
        elif kind == "chat":
            await self.chat(msg)
        elif kind == "consent":
            await self.consent(msg)
        elif kind == "record":
            await self.record(msg)
        elif kind == "hand":
            await self.hand(msg)
        elif kind == "speak":
            await self.speak(msg)

    async def hand(self, msg: dict[str, Any]) -> None:
        """An attendee raises or lowers their hand; the roster shows it (`hand`)."""
        assert self.user is not None
        raised = msg.get("raised")
        if not isinstance(raised, bool):
            raise BadMessage("'raised' must be true or false")
        user, rid = self.user, uuid.UUID(self.room_id)

        def _do(s: Session) -> list[dict[str, Any]]:
            service.raise_hand(session=s, room_id=rid, user=s.merge(user, load=False),
                               raised=raised, now=clock.now())  # fmt: skip
            return service.roster(session=s, room_id=rid, now=clock.now())

        await self.broadcast_roster(await in_transaction(_do))

    async def guard_lecture(self) -> None:
        """While the presenter is here: every LECTURE_GUARD_SECONDS, drop the Janus
        publishers of attendees who do not have the word (docs/video.md, 6b)."""
        rid = uuid.UUID(self.room_id)
        rooms = janus_rooms(self.settings.video)
        while not self.closed:
            await asyncio.sleep(LECTURE_GUARD_SECONDS)
            try:
                roster = await self.roster()
                allowed = {p["user_id"] for p in roster if p["host"] or p["speaking"]}
                await rooms.guard(str(rid), may_publish=allowed)
            except Exception:
                log.exception("lecture guard of %s", self.room_id)

    async def _tell_speak(self, user_id: str, *, allowed: bool) -> None:
        """Everyone learns who may speak; on Janus a silenced attendee's publisher is dropped."""
        event = {"type": "speak", "user_id": user_id, "allowed": allowed}
        await self.hub.publish(self.room_id, event, audience="everyone")
        if not allowed and self.mode == RoomMode.JANUS:
            await janus_rooms(self.settings.video).kick(self.room_id, display=user_id)

    async def speak(self, msg: dict[str, Any]) -> None:
        """The host lets one attendee speak (publish audio on Janus) or takes it back."""
        assert self.user is not None
        target, allowed = uuid_of(msg, "user_id"), msg.get("allowed")
        if not isinstance(allowed, bool):
            raise BadMessage("'allowed' must be true or false")
        user, rid = self.user, uuid.UUID(self.room_id)

        def _do(s: Session) -> tuple[list[str], list[dict[str, Any]]]:
            now = clock.now()
            was = service.roster(session=s, room_id=rid, now=now)
            speakers = [p["user_id"] for p in was if p["speaking"]]
            service.allow_speak(
                session=s,
                room_id=rid,
                by=s.merge(user, load=False),
                user_id=target,
                allowed=allowed,
                now=now,
            )
            after = service.roster(session=s, room_id=rid, now=now)
            still = {p["user_id"] for p in after if p["speaking"]}
            return [u for u in speakers if u not in still], after

        before_speaking, roster = await in_transaction(_do)
        for uid in before_speaking:
            await self._tell_speak(uid, allowed=False)
        if allowed:
            await self._tell_speak(str(target), allowed=True)
        await self.broadcast_roster(roster)

    async def signal(self, kind: str, msg: dict[str, Any]) -> None:
        """Relay an offer, answer or candidate to a peer this socket negotiates with."""
        assert self.peer is not None
        if not self.peer.admitted:
            raise Forbidden("wait for the host to admit you", code="not_admitted")
        to = text_of(msg, "to", 64)
        event: dict[str, Any] = {"type": kind}
        purpose = msg.get("purpose")
        if purpose is not None and purpose not in PURPOSES:
            raise BadMessage("'purpose' must be mesh, upstream or downstream")
        if purpose is not None:
            event["purpose"] = purpose
        if msg.get("source") is not None:
            event["source"] = text_of(msg, "source", 64)
        if kind in ("offer", "answer"):
            event["sdp"] = text_of(msg, "sdp", self.settings.video.max_message_bytes)
        else:
            cand = msg.get("candidate")
            if cand is not None and not isinstance(cand, dict):
                raise BadMessage("'candidate' must be an object or null")
            event["candidate"] = cand
        key = link_of(to, event)
        if kind == "offer":
            if to.startswith("server-"):
                raise Invalid("the server peer makes the offers; answer them")
            if not await self._in_room(to):
                raise Conflict(f"no peer {to} in this room", code="unknown_peer")
            self.links.add(key)
        elif kind == "answer":
            if key not in self.offers_in:
                raise Conflict(
                    f"no offer from {to} to answer (purpose {key[1]}"
                    + (f", source {key[2]})" if key[2] else ")"),
                    code="no_offer",
                )
            self.offers_in.discard(key)
        elif key not in self.links and not await self._in_room(to):
            raise Conflict(f"no connection with {to}", code="unknown_peer")
        await self.hub.publish(self.room_id, event, to=to, sender=self.peer_id)

    async def _in_room(self, peer: str) -> bool:
        """Whether `peer` is an admitted peer of the room (the roster is read once if unsure)."""
        if peer == self.peer_id:
            return False
        if peer not in self.room_peers and not peer.startswith("server-"):
            roster = await self.roster()
            self.room_peers = {
                p["peer"]
                for p in roster
                if p["state"] == "admitted" and p["peer"] and p["peer"] != self.peer_id
            }
        return peer in self.room_peers

    async def admission(self, kind: str, target: uuid.UUID) -> None:
        """The host admits or declines someone in the waiting room."""
        assert self.user is not None
        user, rid = self.user, uuid.UUID(self.room_id)
        fn = service.admit if kind == "admit" else service.deny

        def _do(s: Session) -> list[dict[str, Any]]:
            by = s.merge(user, load=False)  # the socket's user, attached without a SELECT
            fn(session=s, room_id=rid, by=by, user_id=target, now=clock.now())
            return service.roster(session=s, room_id=rid, now=clock.now())

        roster = await in_transaction(_do)
        if kind == "admit":
            peers = [p for p in roster if p["state"] == "admitted" and p["user_id"] != str(target)]
            await self.hub.publish(
                self.room_id, {"type": "_admitted", "peers": peers}, to=f"user:{target}"
            )
        else:
            await self.hub.publish(self.room_id, {"type": "_denied"}, to=f"user:{target}")
        await self.broadcast_roster(roster)

    async def chat(self, msg: dict[str, Any]) -> None:
        """A chat message: kept in the session record, sent to everyone."""
        assert self.user is not None
        text = msg.get("text")
        if not isinstance(text, str):
            raise BadMessage("'text' must be a string")
        if not text.strip() or len(text) > service.CHAT_MAX_CHARS:
            raise Invalid(
                f"chat text must be 1-{service.CHAT_MAX_CHARS} characters (got {len(text)})",
                field="text",
                max_chars=service.CHAT_MAX_CHARS,
            )
        user, rid = self.user, uuid.UUID(self.room_id)
        ev = await in_transaction(
            lambda s: service.add_chat(
                session=s, room_id=rid, user=s.merge(user), text=text, now=clock.now()
            )
        )
        await self.hub.publish(
            self.room_id,
            {
                "type": "chat",
                "from": self.peer_id,
                "user_id": str(user.id),
                "name": user.full_name,
                "text": ev.data["text"],
                "at": ev.at.isoformat(),
            },
            audience="everyone",
        )

    async def consent(self, msg: dict[str, Any]) -> None:
        """A participant's answer to recording, told to everyone (and the server peer)."""
        assert self.user is not None
        granted = msg.get("granted")
        if not isinstance(granted, bool):
            raise BadMessage("'granted' must be true or false")
        user, rid = self.user, uuid.UUID(self.room_id)
        await in_transaction(
            lambda s: service.record_consent(
                session=s, room_id=rid, user=s.merge(user), granted=granted, now=clock.now()
            )
        )
        await self.hub.publish(
            self.room_id,
            {"type": "consent", "user_id": str(user.id), "granted": granted},
            audience="everyone",
        )
        if not granted and self.mode == RoomMode.JANUS:
            await self.stop_janus_recording("consent withdrawn")

    async def record(self, msg: dict[str, Any]) -> None:
        """The host starts or stops the recording (the server peer records; on Janus,
        Janus's recorder: janus_record.py)."""
        assert self.user is not None
        action = msg.get("action")
        if action not in ("start", "stop"):
            raise BadMessage("'action' must be start or stop")
        user, rid = self.user, uuid.UUID(self.room_id)
        if self.mode == RoomMode.JANUS:
            await self.record_on_janus(str(action))
            return
        if action == "stop":
            room = await in_transaction(lambda s: service.get_room(session=s, room_id=rid))
            if room.host_id != user.id:
                raise Forbidden("only the host stops a recording")
            running = await in_transaction(
                lambda s: service.running_recording(
                    session=s, room_id=rid, now=clock.now(), settings=self.settings.video
                )
            )
            if running is None:
                raise Conflict("nothing is being recorded", code="not_recording")
            await self.hub.publish(self.room_id, {"type": "_record_stop"}, audience="everyone")
            return
        busy = sum(1 for srv in self.hub.servers.values() if srv.recording_id is not None)
        if busy >= self.settings.video.max_recordings_per_worker:
            raise Conflict(
                "the server is recording as many sessions as it can; try again later",
                code="recording_capacity",
            )
        rec = await in_transaction(
            lambda s: service.start_recording(
                session=s,
                room_id=rid,
                by=s.merge(user),
                now=clock.now(),
                settings=self.settings.video,
            )
        )
        server = await ensure_server_peer(self.hub, self.room_id, self.settings, need="record")
        # In the background: the server peer needs this socket's answer to go on.
        server.spawn(server.start_recording(rec.id, rec.path))

    async def record_on_janus(self, action: str) -> None:
        """`record` in a room on Janus: this worker's JanusRoomRecorder starts, or stops
        (here, or on the worker that records: the `_janus_record_stop` control event)."""
        assert self.user is not None
        if action == "start":
            await janus_record.start(
                hub=self.hub, room_id=self.room_id, by=self.user, settings=self.settings
            )
            return
        rid = uuid.UUID(self.room_id)
        room = await in_transaction(lambda s: service.get_room(session=s, room_id=rid))
        if room.host_id != self.user.id:
            raise Forbidden("only the host stops a recording")
        await self.stop_janus_recording("stopped by the host", required=True)

    async def stop_janus_recording(self, reason: str, *, required: bool = False) -> None:
        """Stop the room's Janus recording, wherever it runs; `required`: refuse with
        `not_recording` when none runs."""
        rid = uuid.UUID(self.room_id)
        if janus_record.recording_here(self.settings, self.room_id):
            room = await in_transaction(lambda s: service.get_room(session=s, room_id=rid))
            await janus_record.stop(hub=self.hub, room_id=self.room_id, presenter=room.host_id,
                                    reason=reason, settings=self.settings)  # fmt: skip
            return
        running = await in_transaction(
            lambda s: service.running_recording(
                session=s, room_id=rid, now=clock.now(), settings=self.settings.video
            )
        )
        if running is None:
            if required:
                raise Conflict("nothing is being recorded", code="not_recording")
            return
        await self.hub.publish(self.room_id, {"type": janus_record.STOP_EVENT, "reason": reason},
                               audience="everyone")  # fmt: skip

    async def stop_janus_recording_on_leave(self) -> None:
        """A Janus recording of this worker stops when the host leaves with `bye` or when
        the room's last socket on this worker leaves (docs/video.md, Recording through Janus)."""
        if self.mode != RoomMode.JANUS or not janus_record.recording_here(
            self.settings, self.room_id
        ):
            return
        host_left = self.intentional and self.peer is not None and self.peer.is_host
        if self.ended or not self.hub.local_sockets(self.room_id) or host_left:
            reason = "the host left" if host_left else "no participant left on this worker"
            with contextlib.suppress(Exception):  # logged by janus_record; the leave goes on
                await self.stop_janus_recording("the session ended" if self.ended else reason)
