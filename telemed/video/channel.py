"""The signaling fan-out between worker processes.

    Channel                publish(envelope) / start(on_message) / close()
    ├── MemoryChannel      one process (SQLite, the embedded default)
    └── PostgresChannel    PostgreSQL LISTEN/NOTIFY: every worker listens on one
                           channel and keeps the envelopes of rooms it has sockets in

NOTIFY payloads are limited to 8000 bytes; a larger envelope (a big SDP) is
written to `video_signal_spill` and the notification carries only its id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from telemed.core import clock

log = logging.getLogger("telemed.video.channel")

Envelope = dict[str, Any]
Handler = Callable[[Envelope], Awaitable[None]]

PG_CHANNEL = "telemed_video"
NOTIFY_LIMIT = 7000  # bytes; PostgreSQL's hard limit is 8000


class Channel(Protocol):
    async def start(self, handler: Handler) -> None: ...

    async def publish(self, envelope: Envelope) -> None: ...

    async def close(self) -> None: ...


class MemoryChannel:
    """Delivers in the same process, in order."""

    def __init__(self) -> None:
        self._handler: Handler | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def publish(self, envelope: Envelope) -> None:
        if self._handler is not None:
            # Round-trip through JSON so both channels deliver the same shapes.
            await self._handler(json.loads(json.dumps(envelope, default=str)))

    async def close(self) -> None:
        self._handler = None


def psycopg_url(database_url: str) -> str:
    """A libpq URL from an SQLAlchemy one."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url.removeprefix(prefix)
    return database_url


class PostgresChannel:
    """LISTEN/NOTIFY on one PostgreSQL channel, with a psycopg async connection."""

    def __init__(self, database_url: str) -> None:
        self._url = psycopg_url(database_url)
        self._listen: Any = None
        self._send: Any = None
        self._send_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        import psycopg

        self._listen = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        self._send = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        await self._listen.execute(f"LISTEN {PG_CHANNEL}")
        self._task = asyncio.create_task(self._run(handler))

    async def _run(self, handler: Handler) -> None:
        try:
            async for note in self._listen.notifies():
                try:
                    envelope = await self._decode(note.payload)
                    if envelope is not None:
                        await handler(envelope)
                except Exception:  # one bad envelope must not stop the listener
                    log.exception("signaling envelope dropped")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("signaling listener stopped")

    async def _decode(self, payload: str) -> Envelope | None:
        data: Envelope = json.loads(payload)
        spill = data.get("spill")
        if spill is None:
            return data
        async with self._send_lock:
            cur = await self._send.execute(
                "SELECT payload FROM video_signal_spill WHERE id = %s", (uuid.UUID(spill),)
            )
            row = await cur.fetchone()
        if row is None:
            return None
        loaded: Envelope = json.loads(row[0])
        return loaded

    async def publish(self, envelope: Envelope) -> None:
        payload = json.dumps(envelope, default=str, separators=(",", ":"))
        async with self._send_lock:
            if len(payload.encode()) > NOTIFY_LIMIT:
                spill_id = uuid.uuid4()
                # Spilled rows are read by every worker once; old ones are swept here.
                await self._send.execute(
                    "DELETE FROM video_signal_spill WHERE created_at < now() - interval '5 minutes'"
                )
                await self._send.execute(
                    "INSERT INTO video_signal_spill (id, payload, created_at) VALUES (%s, %s, %s)",
                    (spill_id, payload, clock.now()),
                )
                payload = json.dumps({"spill": str(spill_id)})
            await self._send.execute("SELECT pg_notify(%s, %s)", (PG_CHANNEL, payload))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for conn in (self._listen, self._send):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
