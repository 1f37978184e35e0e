"""The signaling WebSocket of a room (protocol: docs/video.md).

One `SocketSession` per connection: authenticate (query parameter or first
message), join (host enters, others wait), then relay `offer`/`answer`/`candidate`
between peers and handle `admit`, `deny`, `chat`, `consent`, `record`, `bye`.
Each message touching the session record runs in one short transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from fastapi import WebSocket, WebSocketDisconnect
from sqlmodel import Session

from telemed.core import clock
from telemed.core.db import get_engine, roll_back
from telemed.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
)
from telemed.core.logging import request_id_var, request_origin_var
from telemed.core.settings import Settings
from telemed.identity import service as identity_service
from telemed.identity.models import User
from telemed.video import service
from telemed.video.hub import Hub, LocalPeer, hub_for

log = logging.getLogger("telemed.video.signaling")
T = TypeVar("T")

# Close codes (4000-4999 are the application's own).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_REPLACED = 4409
CLOSE_ROOM_CLOSED = 4410
CLOSE_ROOM_FULL = 4413
CLOSE_RATE_LIMITED = 4429
CLOSE_PROTOCOL = 4400

SIGNAL_TYPES = {"offer", "answer", "candidate"}
PURPOSES = {"mesh", "upstream", "downstream"}
CLIENT_TYPES = SIGNAL_TYPES | {"join", "bye", "admit", "deny", "chat", "consent", "record", "ping"}


def open_session() -> Session:
    """A database session for one signaling step (tests may replace this)."""
    return Session(get_engine(), expire_on_commit=False)


session_factory: Callable[[], Session] = open_session


async def in_transaction(fn: Callable[[Session], T]) -> T:
    """Run `fn` in its own committed transaction, off the event loop."""

    def _run() -> T:
        with session_factory() as session:
            try:
                result = fn(session)
                session.commit()
                return result
            except BaseException:
                roll_back(session)  # what must outlive the failure (a refusal's audit row) stays
                raise

    return await anyio.to_thread.run_sync(_run)


class TokenBucket:
    """Per-socket rate limit: `rate` messages a second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class BadMessage(Exception):
    def __init__(self, detail: str, code: str = "bad_message") -> None:
        super().__init__(detail)
        self.code = code


def _str(msg: dict[str, Any], key: str, limit: int = 200) -> str:
    value = msg.get(key)
    if not isinstance(value, str) or not value:
        raise BadMessage(f"{key!r} must be a non-empty string")
    if len(value) > limit:
        raise BadMessage(f"{key!r} is limited to {limit} characters")
    return value


LinkKey = tuple[str, str, str | None]  # (remote peer, purpose, source)


def _link(peer: str, event: dict[str, Any]) -> LinkKey:
    """The connection a signaling message belongs to (docs/video.md: peer, purpose, source)."""
    source = event.get("source")
    return (peer, str(event.get("purpose") or "mesh"), str(source) if source else None)


def _uuid(msg: dict[str, Any], key: str) -> uuid.UUID:
    try:
        return uuid.UUID(_str(msg, key, 64))
    except ValueError as exc:
        raise BadMessage(f"{key!r} must be a UUID") from exc


class SocketSession:
    """One WebSocket connection to a room."""

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
        self.intentional = False
        self.closed = False
        self._send_lock = asyncio.Lock()
        # Negotiation state of this socket: admitted peers of the room as last seen,
        # offers received and not answered yet, connections offered or answered.
        self.room_peers: set[str] = set()
        self.offers_in: set[LinkKey] = set()
        self.links: set[LinkKey] = set()

    # ------------------------------------------------------------ plumbing

    async def send(self, event: dict[str, Any]) -> None:
        if self.closed:
            return
        async with self._send_lock:
            await self.ws.send_text(json.dumps(event, default=str))

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, reason=reason[:120])

    async def error(self, code: str, detail: str, **extra: Any) -> None:
        await self.send({"type": "error", "code": code, "detail": detail, **extra})

    async def roster(self) -> list[dict[str, Any]]:
        rid = uuid.UUID(self.room_id)
        return await in_transaction(
            lambda s: service.roster(session=s, room_id=rid, now=clock.now())
        )

    async def broadcast_roster(self) -> None:
        roster = await self.roster()
        await self.hub.publish(
            self.room_id, {"type": "participants", "participants": roster}, audience="everyone"
        )
        waiting = [p for p in roster if p["state"] == "waiting"]
        await self.hub.publish(
            self.room_id, {"type": "waiting", "waiting": waiting}, audience="hosts"
        )

    # ------------------------------------------------------------ lifecycle

    async def run(self, token: str | None) -> None:
        # audit rows of this connection carry its address, the path and the peer id
        client = self.ws.client
        origin = request_origin_var.set(
            (client.host if client else None, "WEBSOCKET", self.ws.url.path)
        )
        rid = request_id_var.set(self.peer_id)
        try:
            await self._run(token)
        finally:
            request_id_var.reset(rid)
            request_origin_var.reset(origin)

    async def _run(self, token: str | None) -> None:
        await self.ws.accept()
        try:
            user = await self.authenticate(token)
            if user is None:
                return
            self.user = user
            if not await self.join():
                return
            await self.loop()
        except WebSocketDisconnect:
            pass
        except TimeoutError:
            await self.close(CLOSE_PROTOCOL, "send {type: join} after authenticating")
        finally:
            await self.leave()

    async def receive_json(self, within: float | None = None) -> dict[str, Any] | None:
        """The next message as a dict; None when it was refused (and answered)."""
        message = await asyncio.wait_for(self.ws.receive(), within)
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            await self.error("bad_message", "send JSON text frames")
            return None
        if len(text.encode()) > self.settings.video.max_message_bytes:
            await self.error(
                "too_large",
                f"messages are limited to {self.settings.video.max_message_bytes} bytes",
            )
            return None
        try:
            msg = json.loads(text)
        except ValueError:
            await self.error("bad_message", "not JSON")
            return None
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            await self.error("bad_message", "a message is an object with a string 'type'")
            return None
        return msg

    async def authenticate(self, token: str | None) -> User | None:
        if token is None:
            try:
                first = await self.receive_json(self.settings.video.auth_timeout_seconds)
            except TimeoutError:
                await self.close(CLOSE_UNAUTHENTICATED, "authentication timed out")
                return None
            if (
                first is None
                or first.get("type") != "auth"
                or not isinstance(first.get("token"), str)
            ):
                await self.close(CLOSE_UNAUTHENTICATED, "authenticate first: {type: auth, token}")
                return None
            token = first["token"]
        try:
            rid = uuid.UUID(self.room_id)
        except ValueError:
            await self.close(CLOSE_NOT_FOUND, "room not found")
            return None

        def _check(s: Session) -> User:
            user = identity_service.user_for_token(session=s, token=str(token), now=clock.now())
            identity_service.ensure_password_changed(user)
            service.room_for(session=s, room_id=rid, user=user)
            return user

        try:
            return await in_transaction(_check)
        except Unauthorized as exc:
            await self.close(CLOSE_UNAUTHENTICATED, exc.detail)
        except identity_service.PasswordChangeRequired as exc:
            await self.error(exc.code, exc.detail)
            await self.close(CLOSE_FORBIDDEN, exc.code)
        except NotFound:
            await self.close(CLOSE_NOT_FOUND, "room not found")
        return None

    async def join(self) -> bool:
        while True:
            msg = await self.receive_json(self.settings.video.auth_timeout_seconds * 3)
            if msg is None:
                continue
            if msg["type"] == "auth":
                continue  # a client sending both query token and auth message
            if msg["type"] != "join":
                await self.error("not_joined", "send {type: join} first")
                continue
            break
        assert self.user is not None
        user, rid = self.user, uuid.UUID(self.room_id)

        def _join(s: Session) -> tuple[service.JoinResult, Any, list[dict[str, Any]]]:
            result = service.join(
                session=s,
                room_id=rid,
                user=s.merge(user),
                peer_id=self.peer_id,
                now=clock.now(),
                settings=self.settings.video,
            )
            room = service.get_room(session=s, room_id=rid)
            roster = service.roster(session=s, room_id=rid, now=clock.now())
            return result, (room.mode, room.host_id, room.title), roster

        try:
            result, (mode, host_id, title), roster = await in_transaction(_join)
        except service.NotInvited as exc:
            await self.close(CLOSE_FORBIDDEN, exc.detail)
            return False
        except service.RoomClosed as exc:
            await self.close(CLOSE_ROOM_CLOSED, exc.detail)
            return False
        except Conflict as exc:
            await self.close(CLOSE_ROOM_FULL if exc.code == "room_full" else 4409, exc.detail)
            return False
        await self.hub.ensure_started()
        self.peer = LocalPeer(
            room_id=self.room_id,
            peer_id=self.peer_id,
            user_id=str(user.id),
            is_host=result.participant.is_host,
            admitted=result.admitted,
            deliver=self.deliver,
        )
        self.hub.add(self.peer)
        if result.replaced_peer:
            await self.hub.publish(
                self.room_id, {"type": "_replaced"}, to=result.replaced_peer, sender=self.peer_id
            )
        others = [p for p in roster if p["peer"] != self.peer_id and p["state"] == "admitted"]
        if result.admitted:
            self.room_peers = {p["peer"] for p in others if p["peer"]}
        await self.send(
            {
                "type": "joined",
                "peer": self.peer_id,
                "user_id": str(user.id),
                "host": result.participant.is_host,
                "state": "admitted" if result.admitted else "waiting",
                "room": {"id": self.room_id, "title": title, "mode": mode, "host_id": host_id},
                "peers": others if result.admitted else [],
                "participants": roster if result.admitted else [],
                # everyone entering, waiting room included, learns that the room is recorded
                "recording": str(result.recording_id) if result.recording_id else None,
            }
        )
        if result.admitted:
            await self.after_admission()
        await self.broadcast_roster()
        return True

    async def after_admission(self) -> None:
        """A relay room's server peer starts with its host."""
        if self.peer is not None and self.peer.is_host:
            from telemed.video.server_peer import ensure_server_peer

            await ensure_server_peer(self.hub, self.room_id, self.settings, need="relay")

    async def leave(self) -> None:
        if self.peer is None or self.user is None:
            await self.close(1000, "bye")
            return
        self.hub.remove(self.peer)
        user, rid, peer_id = self.user, uuid.UUID(self.room_id), self.peer_id

        def _leave(s: Session) -> Any:
            part = service.leave(
                session=s,
                room_id=rid,
                user=s.merge(user),
                peer_id=peer_id,
                now=clock.now(),
                settings=self.settings.video,
                intentional=self.intentional,
            )
            grace = None if part is None else part.grace_until
            return None if grace is None else grace.isoformat()  # ISO 8601, like every time

        try:
            grace_until = await in_transaction(_leave)
            await self.hub.publish(
                self.room_id,
                {
                    "type": "bye",
                    "peer": peer_id,
                    "user_id": str(user.id),
                    "reconnecting": grace_until is not None,
                    "grace_until": grace_until,
                },
                sender=peer_id,
                audience="everyone",
            )
            await self.broadcast_roster()
        except Exception:
            log.exception("leave of %s failed", peer_id)
        server = self.hub.servers.get(self.room_id)
        if server is not None and not self.hub.local_sockets(self.room_id):
            # The server peer lives with the sockets of its worker (docs/video.md).
            await server.close(reason="no participant left on this worker")
        await self.close(1000, "bye")

    async def deliver(self, envelope: dict[str, Any]) -> None:
        """An envelope from the channel addressed to this socket."""
        event = envelope["event"]
        kind = event.get("type", "")
        if kind == "_replaced":
            await self.close(CLOSE_REPLACED, "replaced by a newer connection of the same user")
            return
        if kind == "_admitted":
            if self.peer is not None:
                self.peer.admitted = True
            peers = event.get("peers", [])
            self.room_peers = {p["peer"] for p in peers if p.get("peer")}
            await self.send({"type": "admit", "peers": peers})
            await self.after_admission()
            return
        if kind == "_denied":
            await self.send({"type": "deny"})
            await self.close(CLOSE_FORBIDDEN, "the host declined your admission")
            return
        if kind.startswith("_"):
            return
        self._track(kind, event, envelope.get("sender"))
        out = dict(event)
        if envelope.get("sender") and kind in SIGNAL_TYPES:
            out["from"] = envelope["sender"]
        await self.send(out)

    def _track(self, kind: str, event: dict[str, Any], sender: str | None) -> None:
        """Follow the room's peers and the offers made to this socket."""
        if kind == "participants":
            self.room_peers = {
                p["peer"]
                for p in event.get("participants", [])
                if p.get("state") == "admitted" and p.get("peer") and p["peer"] != self.peer_id
            }
        elif kind == "offer" and sender:
            key = _link(sender, event)
            self.offers_in.add(key)
            self.links.add(key)
        elif kind == "bye" and event.get("peer"):
            gone = str(event["peer"])
            self.room_peers.discard(gone)
            self.offers_in = {k for k in self.offers_in if gone not in (k[0], k[2])}
            self.links = {k for k in self.links if gone not in (k[0], k[2])}

    # ------------------------------------------------------------ messages

    async def loop(self) -> None:
        while not self.closed:
            msg = await self.receive_json()
            if msg is None:
                continue
            if not self.bucket.take():
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 20 == 0:
                    await self.error("rate_limited", "too many messages; slow down")
                if self.dropped > 4 * self.settings.video.message_burst:
                    await self.close(CLOSE_RATE_LIMITED, "flooding: too many messages")
                    return
                continue
            self.dropped = 0
            try:
                await self.handle(msg)
            except BadMessage as exc:
                await self.error(exc.code, str(exc))
            except DomainError as exc:
                await self.error(exc.code, exc.detail, **_jsonable(exc.extra))
            if self.intentional:
                return

    async def handle(self, msg: dict[str, Any]) -> None:
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
            await self.admission(kind, _uuid(msg, "user_id"))
        elif kind == "chat":
            await self.chat(msg)
        elif kind == "consent":
            await self.consent(msg)
        elif kind == "record":
            await self.record(msg)

    async def signal(self, kind: str, msg: dict[str, Any]) -> None:
        assert self.peer is not None
        if not self.peer.admitted:
            raise Forbidden("wait for the host to admit you", code="not_admitted")
        to = _str(msg, "to", 64)
        event: dict[str, Any] = {"type": kind}
        purpose = msg.get("purpose")
        if purpose is not None and purpose not in PURPOSES:
            raise BadMessage("'purpose' must be mesh, upstream or downstream")
        if purpose is not None:
            event["purpose"] = purpose
        if msg.get("source") is not None:
            event["source"] = _str(msg, "source", 64)
        if kind in ("offer", "answer"):
            event["sdp"] = _str(msg, "sdp", self.settings.video.max_message_bytes)
        else:
            cand = msg.get("candidate")
            if cand is not None and not isinstance(cand, dict):
                raise BadMessage("'candidate' must be an object or null")
            event["candidate"] = cand
        key = _link(to, event)
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
        assert self.user is not None
        user, rid = self.user, uuid.UUID(self.room_id)
        fn = service.admit if kind == "admit" else service.deny

        def _do(s: Session) -> list[dict[str, Any]]:
            fn(session=s, room_id=rid, by=s.merge(user), user_id=target, now=clock.now())
            return service.roster(session=s, room_id=rid, now=clock.now())

        roster = await in_transaction(_do)
        if kind == "admit":
            peers = [p for p in roster if p["state"] == "admitted" and p["user_id"] != str(target)]
            await self.hub.publish(
                self.room_id, {"type": "_admitted", "peers": peers}, to=f"user:{target}"
            )
        else:
            await self.hub.publish(self.room_id, {"type": "_denied"}, to=f"user:{target}")
        await self.broadcast_roster()

    async def chat(self, msg: dict[str, Any]) -> None:
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

    async def record(self, msg: dict[str, Any]) -> None:
        assert self.user is not None
        action = msg.get("action")
        if action not in ("start", "stop"):
            raise BadMessage("'action' must be start or stop")
        user, rid = self.user, uuid.UUID(self.room_id)
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
        from telemed.video.server_peer import ensure_server_peer

        server = await ensure_server_peer(self.hub, self.room_id, self.settings, need="record")
        # In the background: the server peer needs this socket's answer to go on.
        server.spawn(server.start_recording(rec.id, rec.path))


def _jsonable(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if isinstance(v, str | int | float | bool | list)}
