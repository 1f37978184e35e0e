"""Peers connected to two different worker processes meet through PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest

from telemed.video.client import RoomClient
from tests.support.ports import free_port, wait_port


@pytest.fixture
def two_workers(database_url: str) -> Iterator[tuple[str, str]]:
    """Two separate uvicorn processes on the same PostgreSQL database."""
    procs, urls = [], []
    env = {**os.environ, "TELEMED_DATABASE_URL": database_url, "TELEMED_VIDEO__CHANNEL": "auto"}
    try:
        for _ in range(2):
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "telemed.app:create_app",
                        "--factory",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                    ],
                    env=env,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_port(int(url.rsplit(":", 1)[1]), timeout=60)
        yield urls[0], urls[1]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def _token(base: str, username: str) -> str:
    r = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": "telemed-demo"}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_peers_on_two_workers_meet_and_exchange_media(
    two_workers: tuple[str, str], make_room: Callable[..., str], users
) -> None:  # type: ignore[no-untyped-def]
    worker_a, worker_b = two_workers
    room_id = make_room()
    guest_id = str(users["county-doctor"].id)

    async def scenario() -> None:
        host = RoomClient(worker_a, _token(worker_a, "specialist"), room_id)
        guest = RoomClient(worker_b, _token(worker_b, "county-doctor"), room_id)
        try:
            await host.join()
            await guest.join()
            # The waiting notice crossed from worker B to the host on worker A ...
            await host.wait_message("waiting", where=lambda m: bool(m["waiting"]))
            # ... and the admission from A to the guest on B.
            await host.admit(guest_id)
            await guest.wait_admitted()
            assert (await guest.wait_frames(count=15))[str(host.peer_id)] >= 15
            assert (await host.wait_frames(count=15))[str(guest.peer_id)] >= 15
            # An offer larger than a NOTIFY payload still crosses (spilled to a table).
            big = "v=0\r\n" + "a=x-padding:" + "p" * 12000 + "\r\n"
            await host.send({"type": "offer", "to": guest.peer_id, "sdp": big})
            got = await guest.wait_message("offer", where=lambda m: m["sdp"] == big)
            assert got["from"] == host.peer_id
            await guest.chat("来自另一个进程")
            assert (await host.wait_message("chat"))["text"] == "来自另一个进程"
        finally:
            await guest.close()
            await host.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
