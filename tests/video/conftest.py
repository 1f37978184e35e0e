"""Fixtures of the video tests: a live server on a free port, committed rooms, tokens."""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from telemed.core import clock
from telemed.core.settings import get_settings
from telemed.identity.models import User
from telemed.video import service
from telemed.video.models import Room
from telemed.video.schemas import RoomCreate
from tests.support.ports import free_port, wait_port

# Recordings of the tests go to a scratch directory of this process (read when settings
# load): not inherited, since pytest-xdist workers start with their controller's environment.
os.environ["TELEMED_VIDEO__RECORDINGS_DIR"] = tempfile.mkdtemp(prefix="telemed-rec-")


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[str]:
    """The app served by uvicorn in a thread (PostgreSQL channel), on a free port."""
    import uvicorn

    from telemed.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_port(port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


@pytest.fixture(scope="session")
def tokens(live_server: str) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def _token(username: str) -> str:
        if username not in cache:
            r = httpx.post(
                f"{live_server}/api/v1/auth/token",
                data={"username": username, "password": "telemed-demo"},
            )
            assert r.status_code == 200, r.text
            cache[username] = r.json()["access_token"]
        return cache[username]

    return _token


@pytest.fixture
def users(committed_engine: Engine) -> dict[str, User]:
    with Session(committed_engine) as s:
        rows = s.execute(
            select(User).where(
                User.username.in_(  # type: ignore[attr-defined]
                    ["specialist", "specialist2", "county-doctor", "coordinator", "patient"]
                )
            )
        ).scalars()
        return {u.username: u for u in rows}


@pytest.fixture
def make_room(committed_engine: Engine, users: dict[str, User]) -> Iterator[Callable[..., str]]:
    """Create committed rooms (host: specialist); deleted after the test."""
    created: list[uuid.UUID] = []

    def _make(
        invited: tuple[str, ...] = ("county-doctor",),
        mode: str = "p2p",
        starts_in: timedelta = timedelta(minutes=5),
        **kw: Any,
    ) -> str:
        now = clock.now()
        with Session(committed_engine) as s:
            room = service.create_room(
                session=s,
                data=RoomCreate(
                    title="test session",
                    starts_at=now + starts_in,
                    ends_at=now + starts_in + timedelta(minutes=30),
                    invited_user_ids=[users[u].id for u in invited],
                    mode=mode,  # type: ignore[arg-type]
                    **kw,
                ),
                by=s.merge(users["specialist"]),
                now=now,
                settings=get_settings().video,
            )
            s.commit()
            created.append(room.id)
            return str(room.id)

    yield _make
    with Session(committed_engine) as s:
        for rid in created:
            s.execute(delete(Room).where(Room.id == rid))  # type: ignore[arg-type]
        s.commit()


@pytest.fixture(scope="session")
def janus_server() -> Iterator[Any]:
    """A real Janus (VideoRoom + HTTP, token auth) on free ports; see tests/support/janus.py."""
    from tests.support import janus

    if not janus.available():
        pytest.fail("Janus is not installed (scripts/test.sh installs janus janus-tools)")
    server = janus.start()
    yield server
    server.cleanup()
