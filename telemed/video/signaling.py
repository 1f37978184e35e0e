"""The signaling WebSocket of a room (protocol: docs/video.md).

One `SocketSession` per connection: authenticate (query parameter or first
message), join (host enters, others wait), then the receive loop hands each message
to its handler (handlers.py: relay `offer`/`answer`/`candidate` between peers,
`admit`, `deny`, `chat`, `consent`, `record`, `bye`), and leave.
Each message touching the session record runs in one short transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import anyio
from fastapi import WebSocketDisconnect
from sqlmodel import Session

from telemed.core import clock
from telemed.core.db import AFTER_ROLLBACK
from telemed.core.errors import Conflict, DomainError, NotFound, Unauthorized
from telemed.core.logging import request_id_var, request_origin_var
from telemed.identity import service as identity_service
from telemed.identity.models import User
from telemed.video import janus_record, service
from telemed.video.handlers import RoomSocket
from telemed.video.hub import LocalPeer
from telemed.video.janus_rooms import feed_id, janus_rooms, publish_rights
from telemed.video.models import RoomMode, RoomStatus
from telemed.video.protocol import SIGNAL_TYPES, BadMessage, jsonable, link_of
from telemed.video.server_peer import ensure_server_peer
from telemed.video.sfu import JanusError
from telemed.video.transactions import in_transaction

__all__ = ["SocketSession"]

log = logging.getLogger("telemed.video.signaling")

# Close codes (4000-4999 are the application's own).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_REPLACED = 4409
CLOSE_ROOM_CLOSED = 4410
CLOSE_ROOM_FULL = 4413
CLOSE_RATE_LIMITED = 4429
CLOSE_PROTOCOL = 4400


class _Unauthenticated(Exception):
    """An early join's transaction is rolled back: the authentication refused the socket."""


def _user_of(session: Session, token: str) -> User:
    """The token's user, who need not change their password first (else 401 / 403)."""
    user = identity_service.user_for_token(session=session, token=token, now=clock.now())
    identity_service.ensure_password_changed(user)
    return user


async def _outcome(verify: asyncio.Future[User | None]) -> User | None:
    """The authentication's result (None: refused), awaited without cancelling it."""
    return await asyncio.shield(verify)


def _is_join(frame: asyncio.Future[Any]) -> bool:
    """Whether a received frame is a `join` message."""
    if not frame.done() or frame.cancelled() or frame.exception() is not None:
        return False
    text = frame.result().get("text")
    try:
        return isinstance(text, str) and len(text) < 1024 and json.loads(text)["type"] == "join"
    except (ValueError, TypeError, KeyError):
        return False


class SocketSession(RoomSocket):
    """One WebSocket connection to a room, from accept to close."""

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
            token = await self.token_of(token)
            if token is None:
                return
            # Authentication and the next frame at once: a `join` arriving while the token
            # and the room are checked starts its transaction then (docs/video.md, The join
            # path); it commits only if the authentication passed. Not on SQLite, whose
            # transactions take the one write lock at BEGIN: they would wait for each other.
            verify = asyncio.ensure_future(self.verify(token))
            self._pending = asyncio.ensure_future(self.ws.receive())
            if not self.settings.is_sqlite:
                await asyncio.wait({verify, self._pending}, return_when=asyncio.FIRST_COMPLETED)
            if not verify.done() and _is_join(self._pending):
                self._pending = None
                joined = await self.join(early=(token, verify))
            else:
                user = await verify
                if user is None:
                    return
                self.user = user
                joined = await self.join()
            if not joined:
                return
            await self.loop()
        except WebSocketDisconnect:
            pass
        except TimeoutError:
            await self.close(CLOSE_PROTOCOL, "send {type: join} after authenticating")
        finally:
            if self._pending is not None:
                self._pending.cancel()
            await self.leave()

    async def receive_json(self, within: float | None = None) -> dict[str, Any] | None:
        """The next message as a dict; None when it was refused (and answered)."""
        pending, self._pending = self._pending, None
        message = await asyncio.wait_for(pending or self.ws.receive(), within)
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

    async def token_of(self, token: str | None) -> str | None:
        """The query's token, else the first message's (`auth`); None: closed."""
        if token is not None:
            return token
        try:
            first = await self.receive_json(self.settings.video.auth_timeout_seconds)
        except TimeoutError:
            await self.close(CLOSE_UNAUTHENTICATED, "authentication timed out")
            return None
        if first is None or first.get("type") != "auth" or not isinstance(first.get("token"), str):
            await self.close(CLOSE_UNAUTHENTICATED, "authenticate first: {type: auth, token}")
            return None
        return str(first["token"])

    async def verify(self, token: str) -> User | None:
        """The token's user, when they may enter the room; else the socket is closed."""
        try:
            rid = uuid.UUID(self.room_id)
        except ValueError:
            await self.close(CLOSE_NOT_FOUND, "room not found")
            return None

        def _check(s: Session) -> User:
            user = _user_of(s, token)
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

    async def join(self, early: tuple[str, asyncio.Future[User | None]] | None = None) -> bool:
        """Wait for `join` and join. `early`: the join came while the authentication (the
        future) still ran; its transaction reads the token's user itself and commits only
        once the authentication passed (else it rolls back, its refusal rows too)."""
        while early is None:
            msg = await self.receive_json(self.settings.video.auth_timeout_seconds * 3)
            if msg is None:
                continue
            if msg["type"] == "auth":
                continue  # a client sending both query token and auth message
            if msg["type"] != "join":
                await self.error("not_joined", "send {type: join} first")
                continue
            break
        rid, verified = uuid.UUID(self.room_id), self.user

        def _join(s: Session) -> tuple[service.JoinResult, Any, list[dict[str, Any]]]:
            try:
                if early:
                    joiner = _user_of(s, early[0])
                else:
                    assert verified is not None
                    joiner = s.merge(verified, load=False)  # read with the token: no SELECT
                result = service.join(
                    session=s,
                    room_id=rid,
                    user=joiner,
                    peer_id=self.peer_id,
                    now=clock.now(),
                    settings=self.settings.video,
                )
                room = result.room  # locked and loaded by join()
                assert room is not None
                roster = service.roster(session=s, room_id=rid, now=clock.now())
            except BaseException:
                if early and anyio.from_thread.run(_outcome, early[1]) is None:
                    s.info.pop(AFTER_ROLLBACK, None)  # refused by the authentication alone
                raise
            if early and anyio.from_thread.run(_outcome, early[1]) is None:
                raise _Unauthenticated
            return result, (room.mode, room.host_id, room.title, room.kind), roster

        try:
            result, (mode, host_id, title, kind), roster = await in_transaction(_join)
        except Exception as exc:
            if early and await _outcome(early[1]) is None:
                return False  # refused by the authentication, which closed the socket
            self.user = self.user or (await _outcome(early[1]) if early else None)
            if isinstance(exc, service.NotInvited):
                await self.close(CLOSE_FORBIDDEN, exc.detail)
            elif isinstance(exc, service.RoomClosed):
                await self.close(CLOSE_ROOM_CLOSED, exc.detail)
            elif isinstance(exc, Conflict):
                await self.close(CLOSE_ROOM_FULL if exc.code == "room_full" else 4409, exc.detail)
            else:
                raise
            return False
        if early:
            self.user = await _outcome(early[1])
        user = self.user
        assert user is not None
        self.mode, self.kind, self.title = mode, kind, title
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
                "room": {
                    "id": self.room_id,
                    "title": title,
                    "mode": mode,
                    "kind": kind,
                    "host_id": host_id,
                },
                "peers": others if result.admitted else [],
                "participants": roster if result.admitted else [],
                # everyone entering, waiting room included, learns that the room is recorded
                "recording": str(result.recording_id) if result.recording_id else None,
            }
        )
        if result.admitted:
            await self.after_admission()
        await self.broadcast_roster(roster)
        return True

    async def after_admission(self) -> None:
        """A relay room's server peer starts with its host; on Janus, the admitted
        participant receives its Janus token (this socket only)."""
        if self.mode == RoomMode.JANUS:
            await self.hand_out_janus_token()
        elif self.peer is not None and self.peer.is_host:
            await ensure_server_peer(self.hub, self.room_id, self.settings, need="relay")

    async def hand_out_janus_token(self) -> None:
        """Grant this admitted participant a Janus token and tell them where to use it."""
        assert self.user is not None and self.peer is not None
        rid, uid = uuid.UUID(self.room_id), self.user.id

        def _admission(s: Session) -> tuple[Any, bool, int]:
            part = service.find_participant(session=s, room_id=rid, user_id=uid)
            assert part is not None and part.admitted_at is not None
            room = service.get_room(session=s, room_id=rid)
            return part.admitted_at, part.may_speak, room.max_participants

        admitted_at, may_speak, size = await in_transaction(_admission)
        rooms = janus_rooms(self.settings.video)
        try:
            token = await rooms.admit(
                self.room_id,
                title=self.title,
                publishers=size,
                user_id=str(uid),
                admitted_at=admitted_at,
            )
        except JanusError as exc:
            log.warning("janus room %s: no token for %s: %s", self.room_id, uid, exc)
            await self.error("sfu_unavailable", "the media server (Janus) is not reachable")
            return
        self.janus_token = token
        if self.kind == "training" and self.peer.is_host and self.guard is None:
            self.guard = asyncio.create_task(self.guard_lecture())
        await self.send(
            {
                "type": "sfu",
                "url": rooms.public_url,
                "room": self.room_id,
                "token": token,
                "display": str(uid),
                "feed": feed_id(self.settings.video, self.room_id, uid),
                "publish": publish_rights(
                    kind=self.kind, host=self.peer.is_host, may_speak=may_speak
                ),
            }
        )

    async def leave(self) -> None:
        if self.peer is None or self.user is None:
            await self.close(1000, "bye")
            return
        self.hub.remove(self.peer)
        user, rid, peer_id = self.user, uuid.UUID(self.room_id), self.peer_id

        def _leave(s: Session) -> tuple[str | None, list[dict[str, Any]]]:
            part = service.leave(
                session=s,
                room_id=rid,
                user=s.merge(user, load=False),
                peer_id=peer_id,
                now=clock.now(),
                settings=self.settings.video,
                intentional=self.intentional,
            )
            grace = None if part is None else part.grace_until
            roster = service.roster(session=s, room_id=rid, now=clock.now())
            self.ended = service.get_room(session=s, room_id=rid).status == RoomStatus.ENDED
            # ISO 8601, like every time
            return (None if grace is None else grace.isoformat()), roster

        try:
            grace_until, roster = await in_transaction(_leave)
            await self.stop_janus_recording_on_leave()
            await self.release_janus()
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
            await self.broadcast_roster(roster)
        except Exception:
            log.exception("leave of %s failed", peer_id)
        server = self.hub.servers.get(self.room_id)
        if server is not None and not self.hub.local_sockets(self.room_id):
            # The server peer lives with the sockets of its worker (docs/video.md).
            await server.close(reason="no participant left on this worker")
        await self.close(1000, "bye")

    async def release_janus(self) -> None:
        """Withdraw this participant's Janus token (and their publishers); the last one out
        ends the session: its Janus room is destroyed."""
        if self.mode != RoomMode.JANUS:
            return
        if self.guard is not None:
            self.guard.cancel()
            self.guard = None
        rooms = janus_rooms(self.settings.video)
        try:
            if self.janus_token is not None:
                await rooms.release(self.room_id, token=self.janus_token,
                                    display=str(self.user.id) if self.user else None)  # fmt: skip
            if self.ended:
                await rooms.end(self.room_id)
        except JanusError as exc:
            log.warning("janus room %s: release failed: %s", self.room_id, exc)
        self.janus_token = None

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
        if kind == janus_record.STOP_EVENT:
            if janus_record.recording_here(self.settings, self.room_id):
                await self.stop_janus_recording(str(event.get("reason") or "stopped"))
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
            key = link_of(sender, event)
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
                await self.error(exc.code, exc.detail, **jsonable(exc.extra))
            if self.intentional:
                return
