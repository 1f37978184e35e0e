"""The per-process signaling hub: local peers of each room, fed by the shared channel.

Every message between peers is an *envelope* published on the channel:

    {"room": id, "to": peer | "user:<id>" | None, "audience": "admitted" | "everyone" | "hosts",
     "sender": peer | None, "event": {...}}

Each worker delivers the envelopes of rooms it has local peers in: to the addressed
peer (or user), else to the audience. Events whose type starts with `_` are
control events between workers (admission, replacement) and never reach clients as such.

The publishing worker delivers to its own peers at once, without the channel's round trip
(with PostgreSQL: a NOTIFY and its echo on the LISTEN connection, on every offer, answer
and candidate of a join); the envelope carries the worker's `origin`, so its own listener
skips it when it comes back. An envelope addressed to one peer of this worker is not put
on the channel at all (peer ids are unique: no other worker has it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telemed.core.settings import Settings
from telemed.video.channel import Channel, Envelope, MemoryChannel, PostgresChannel

log = logging.getLogger("telemed.video.hub")


@dataclass(eq=False)
class LocalPeer:
    """A socket (or the server peer) of this process in a room."""

    room_id: str
    peer_id: str
    user_id: str
    is_host: bool
    admitted: bool
    deliver: Callable[[Envelope], Awaitable[None]]
    is_server: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


class Hub:
    """Rooms of this process and their local peers."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.origin = uuid.uuid4().hex  # this hub, in the envelopes it publishes
        self.rooms: dict[str, dict[str, LocalPeer]] = {}
        self.servers: dict[str, Any] = {}  # room id -> ServerPeer living in this process
        self._started = False
        self._start_lock = asyncio.Lock()

    async def ensure_started(self) -> None:
        async with self._start_lock:
            if not self._started:
                await self.channel.start(self._on_envelope)
                self._started = True

    def add(self, peer: LocalPeer) -> None:
        self.rooms.setdefault(peer.room_id, {})[peer.peer_id] = peer

    def remove(self, peer: LocalPeer) -> None:
        room = self.rooms.get(peer.room_id)
        if room is not None:
            room.pop(peer.peer_id, None)
            if not room:
                del self.rooms[peer.room_id]

    def local_sockets(self, room_id: str) -> list[LocalPeer]:
        return [p for p in self.rooms.get(room_id, {}).values() if not p.is_server]

    async def publish(
        self,
        room_id: str,
        event: dict[str, Any],
        *,
        to: str | None = None,
        audience: str = "admitted",
        sender: str | None = None,
    ) -> None:
        envelope = {
            "room": room_id,
            "to": to,
            "audience": audience,
            "sender": sender,
            "event": event,
            "origin": self.origin,
        }
        # Round-trip through JSON so local and remote peers receive the same shapes.
        local = self._recipients(json.loads(json.dumps(envelope, default=str)))
        for peer, copy in local:  # this worker's peers first: they wait for no round trip
            await self._deliver(peer, copy)
        if not (local and to is not None and not to.startswith("user:")):
            await self.channel.publish(envelope)  # the other workers' peers

    async def _on_envelope(self, envelope: Envelope) -> None:
        if envelope.get("origin") == self.origin:
            return  # published here: delivered to this worker's peers already
        for peer, copy in self._recipients(envelope):
            await self._deliver(peer, copy)

    def _recipients(self, envelope: Envelope) -> list[tuple[LocalPeer, Envelope]]:
        """This worker's peers an envelope is for (the addressed one, else its audience)."""
        room = self.rooms.get(str(envelope.get("room")))
        if not room:
            return []
        to = envelope.get("to")
        audience = envelope.get("audience")
        sender = envelope.get("sender")
        out = []
        for peer in list(room.values()):
            if to is not None:
                match = peer.peer_id == to or to == f"user:{peer.user_id}"
            elif audience == "hosts":
                match = peer.is_host and not peer.is_server
            elif audience == "everyone":
                match = peer.admitted
            else:
                match = peer.admitted and peer.peer_id != sender
            if match:
                out.append((peer, envelope))
        return out

    @staticmethod
    async def _deliver(peer: LocalPeer, envelope: Envelope) -> None:
        try:
            await peer.deliver(envelope)
        except Exception:  # a dead socket must not stop delivery to the others
            log.debug("delivery to %s failed", peer.peer_id, exc_info=True)

    async def close(self) -> None:
        for server in list(self.servers.values()):
            await server.close()
        await self.channel.close()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub_for(settings: Settings) -> Hub:
    """The hub of the running event loop (one per process and loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        kind = settings.video.channel
        if kind == "auto":
            kind = "memory" if settings.is_sqlite else "postgres"
        channel: Channel = (
            PostgresChannel(settings.database_url) if kind == "postgres" else MemoryChannel()
        )
        hub = Hub(channel)
        _hubs[loop] = hub
    return hub
