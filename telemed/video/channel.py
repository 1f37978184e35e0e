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
    """LISTEN/NOTIFY on one PostgreSQL channel, with psycopg async connections.

    Both connections come back on their own: the listener reconnects with capped
    exponential backoff when its connection breaks (a database restart, a terminated
    backend, a network cut found by TCP keepalives), and a publish whose connection broke
    reconnects and retries once. Envelopes notified while this worker was not listening
    are lost to it (NOTIFY keeps no backlog); clients recover by their own timeouts.
    """

    # seconds: first retry, cap; TCP keepalive parameters for a silently dead peer
    BACKOFF = (0.1, 5.0)
    KEEPALIVES: dict[str, Any] = {
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }

    def __init__(self, database_url: str) -> None:
        self._url = psycopg_url(database_url)
        self._listen: Any = None
        self._send: Any = None
        self._send_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._connected = asyncio.Condition()
        self.connects = 0  # LISTEN connections made so far (1 + reconnections)

    async def _connect(self) -> Any:
        import psycopg

        return await psycopg.AsyncConnection.connect(self._url, autocommit=True, **self.KEEPALIVES)

    async def _listen_once(self) -> None:
        conn = await self._connect()
        try:
            await conn.execute(f"LISTEN {PG_CHANNEL}")
        except BaseException:
            await conn.close()
            raise
        self._listen = conn
        self.connects += 1
        self._ready.set()
        async with self._connected:
            self._connected.notify_all()

    @property
    def listening(self) -> bool:
        """True while the LISTEN connection is up (cleared when it breaks)."""
        return self._ready.is_set()

    @property
    def listen_pid(self) -> int | None:
        """The PostgreSQL backend of the LISTEN connection (for diagnostics and tests)."""
        return None if self._listen is None else int(self._listen.info.backend_pid)

    async def wait_connected(self, count: int) -> None:
        """Wait until the LISTEN connection has been made `count` times and is up."""
        async with self._connected:
            await self._connected.wait_for(lambda: self.connects >= count and self.listening)

    async def start(self, handler: Handler) -> None:
        await self._listen_once()  # the first connection must work: fail loudly at start
        self._send = await self._connect()
        self._task = asyncio.create_task(self._run(handler))

    async def _run(self, handler: Handler) -> None:
        delay = self.BACKOFF[0]
        while True:
            try:
                if self._listen is None:
                    await self._listen_once()
                    log.warning("signaling listener reconnected (%d)", self.connects)
                delay = self.BACKOFF[0]
                async for note in self._listen.notifies():
                    try:
                        envelope = await self._decode(note.payload)
                        if envelope is not None:
                            await handler(envelope)
                    except Exception:  # one bad envelope must not stop the listener
                        log.exception("signaling envelope dropped")
                raise ConnectionError("notification stream ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._ready.clear()
                old, self._listen = self._listen, None
                if old is not None:
                    with contextlib.suppress(Exception):
                        await old.close()
                log.warning("signaling listener lost (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.BACKOFF[1])

    async def _execute(self, query: str, params: Any = None) -> Any:
        """Run on the send connection (lock held by the caller); one reconnect on failure."""
        import psycopg

        for attempt in (1, 2):
            try:
                if self._send is None or self._send.closed:
                    self._send = await self._connect()
                return await self._send.execute(query, params)
            except psycopg.OperationalError:
                if attempt == 2:
                    raise
                log.warning("signaling send connection lost; reconnecting")
                with contextlib.suppress(Exception):
                    await self._send.close()
                self._send = None
        raise AssertionError("unreachable")

    async def _decode(self, payload: str) -> Envelope | None:
        data: Envelope = json.loads(payload)
        spill = data.get("spill")
        if spill is None:
            return data
        async with self._send_lock:
            cur = await self._execute(
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
                await self._execute(
                    "DELETE FROM video_signal_spill WHERE created_at < now() - interval '5 minutes'"
                )
                await self._execute(
                    "INSERT INTO video_signal_spill (id, payload, created_at) VALUES (%s, %s, %s)",
                    (spill_id, payload, clock.now()),
                )
                payload = json.dumps({"spill": str(spill_id)})
            await self._execute("SELECT pg_notify(%s, %s)", (PG_CHANNEL, payload))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for conn in (self._listen, self._send):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
