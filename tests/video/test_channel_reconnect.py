"""The PostgreSQL signaling channel survives a lost connection: the listener reconnects
with backoff and a publish on a broken connection reconnects, so signaling still delivers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg

from telemed.video.channel import PG_CHANNEL, PostgresChannel, psycopg_url
from telemed.video.client import RoomClient

LISTENERS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    " AND query = 'LISTEN ' || %s AND pid <> pg_backend_pid()"
)


def _listeners(conn: psycopg.Connection[Any]) -> set[int]:
    return {row[0] for row in conn.execute(LISTENERS, (PG_CHANNEL,))}


def _terminate(database_url: str, pids: set[int] | None = None) -> set[int]:
    """pg_terminate_backend for the given backends (default: every LISTEN backend)."""
    with psycopg.connect(psycopg_url(database_url), autocommit=True) as conn:
        pids = _listeners(conn) if pids is None else pids
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return pids


def _wait_new_listener(database_url: str, old: set[int], timeout: float = 30) -> set[int]:
    """Wait (polling pg_stat_activity) until a LISTEN backend not in `old` exists."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(psycopg_url(database_url), autocommit=True) as conn:
        while True:
            pids = _listeners(conn)
            if pids - old:
                return pids
            assert time.monotonic() < deadline, "the listener did not come back"
            time.sleep(0.05)


def test_channel_listener_and_sender_reconnect(database_url: str) -> None:
    async def scenario() -> None:
        listener, sender = PostgresChannel(database_url), PostgresChannel(database_url)
        got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def keep(envelope: dict[str, Any]) -> None:
            await got.put(envelope)

        async def ignore(envelope: dict[str, Any]) -> None:
            return None

        await listener.start(keep)
        await sender.start(ignore)
        try:
            await sender.publish({"room": "r", "n": 1})
            assert (await asyncio.wait_for(got.get(), 10))["n"] == 1
            old = listener.listen_pid
            send_pid = sender._send.info.backend_pid
            assert old is not None
            _terminate(database_url, {old, send_pid})
            # The listener notices, drops its connection and makes a new one.
            await asyncio.wait_for(listener.wait_connected(2), 30)
            assert listener.listen_pid != old
            # The sender's connection is dead too: publish reconnects and delivers.
            await sender.publish({"room": "r", "n": 2, "pad": "x" * 8000})  # spilled
            assert (await asyncio.wait_for(got.get(), 10))["n"] == 2
            assert sender._send.info.backend_pid != send_pid
        finally:
            await listener.close()
            await sender.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_signaling_delivers_after_the_listen_backend_is_terminated(
    live_server: str,
    database_url: str,
    tokens: Callable[[str], str],
    make_room: Callable[..., str],
    users: Any,
) -> None:
    room_id = make_room()
    guest_id = str(users["county-doctor"].id)

    async def scenario() -> None:
        host = RoomClient(live_server, tokens("specialist"), room_id, send_media=False)
        guest = RoomClient(live_server, tokens("county-doctor"), room_id, send_media=False)
        try:
            await host.join()
            await guest.join()
            await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
            # The server's LISTEN backend goes away (as in a database restart).
            killed = await asyncio.to_thread(_terminate, database_url)
            assert killed, "the server listens on the channel"
            await asyncio.to_thread(_wait_new_listener, database_url, killed)
            # Signaling between the two sockets goes through the channel again.
            await host.admit(guest_id)
            await guest.wait_admitted()
            await guest.chat("after the database came back")
            chat = await host.wait_message("chat")
            assert chat["text"] == "after the database came back"
        finally:
            await guest.close()
            await host.close()

    asyncio.run(asyncio.wait_for(scenario(), 90))
