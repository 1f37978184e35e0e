"""Test fixtures: a throwaway PostgreSQL built by migrations, per-test rollback, clients.

Each test runs inside a transaction that is rolled back; the API under test uses
the same session (savepoints stand in for its commits). Tests that need real
commits across connections use `committed_engine` and clean up after themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

os.environ["TELEMED_ENV"] = "test"
os.environ.setdefault("TELEMED_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("TELEMED_LOG_LEVEL", "WARNING")
# Cheap argon2 under test only (production refuses it): every login of the suite and of
# its uvicorn children hashes in microseconds instead of ~50 ms.
os.environ.setdefault("TELEMED_SECURITY__ARGON2_TIME_COST", "1")
os.environ.setdefault("TELEMED_SECURITY__ARGON2_MEMORY_KIB", "8")
# Refusals of logins known to be throttled are answered at once (the pause has its own test).
os.environ.setdefault("TELEMED_SECURITY__LOGIN_REFUSAL_DELAY_SECONDS", "0")

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import HTTPConnection

from telemed.wiring import wire
from tests.support import pgserver


def pytest_sessionstart(session: pytest.Session) -> None:
    wire()  # the hooks the app and the CLI register, for tests that call services directly


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated, demo-seeded PostgreSQL database for the whole run."""
    external = os.environ.get("TELEMED_TEST_DATABASE_URL")
    server = None
    if external:
        admin_url = external
    else:
        server = pgserver.start()
        admin_url = server.url
    from sqlalchemy import create_engine

    dbname = f"telemed_test_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}"'))
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + "/" + dbname
    os.environ["TELEMED_DATABASE_URL"] = url
    from telemed.core.db import get_engine
    from telemed.core.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
    from telemed.cli import upgrade_database

    upgrade_database(url)
    from telemed.seed import seed_demo

    with Session(get_engine()) as session:
        seed_demo(session, get_settings())
        session.commit()
    yield url
    get_engine().dispose()
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def committed_engine(database_url: str) -> Engine:
    """The engine of the test database, for tests that commit for real."""
    from telemed.core.db import get_engine

    return get_engine()


@pytest.fixture
def session(committed_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    conn = committed_engine.connect()
    trans = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield s
    finally:
        s.close()
        trans.rollback()
        conn.close()


@pytest.fixture
def app(session: Session):  # type: ignore[no-untyped-def]
    from telemed.app import create_app
    from telemed.core.db import get_session, remember_forbidden, roll_back

    application = create_app()

    def _session(connection: HTTPConnection) -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException as exc:
            remember_forbidden(connection, session, exc)
            roll_back(session)  # as the app does: rollback, then what must survive it
            raise

    application.dependency_overrides[get_session] = _session
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def login(client: TestClient) -> Callable[[str], dict[str, str]]:
    """Log in a demo user; return Authorization headers."""
    cache: dict[str, dict[str, str]] = {}

    def _login(username: str, password: str = "telemed-demo") -> dict[str, str]:
        if username not in cache:
            r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
            assert r.status_code == 200, r.text
            cache[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return cache[username]

    return _login


class FixedClock:
    """A settable clock for tests."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**kw)


@pytest.fixture
def clock() -> Iterator[FixedClock]:
    from telemed.core import clock as core_clock

    fixed = FixedClock(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    core_clock.set_clock(fixed)
    yield fixed
    core_clock.set_clock(None)
