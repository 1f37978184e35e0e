"""Test fixtures: a throwaway PostgreSQL built by migrations, per-test rollback, clients.

Each test runs inside a transaction that is rolled back; the API under test uses
the same session (savepoints stand in for its commits). Tests that need real
commits across connections use `committed_engine` and clean up after themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

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
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import HTTPConnection

from telemed.wiring import wire
from tests.support import pgtemplate, shared, sqlite_runs
from tests.support.sessions import rolled_back


def pytest_configure(config: pytest.Config) -> None:
    """The controller (or a run without xdist) makes the directory its workers share."""
    if not hasattr(config, "workerinput"):
        shared.begin()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The controller stops the run's PostgreSQL cluster (after every worker ended)."""
    if not hasattr(config, "workerinput"):
        shared.ended(pgtemplate.TEARDOWNS)


# Tests sharing a costly per-process fixture run on one worker (`--dist loadgroup`): the
# browser stories share one live server and Chromium, the FHIR tests their server.
E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "fhir_server" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group("fhir"))
        elif "live_server" in item.fixturenames and item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.xdist_group("browser"))


def worker_name() -> str:
    """This process's name in the run: gw0, gw1, ... under xdist, else "main"."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def pytest_sessionstart(session: pytest.Session) -> None:
    wire()  # the hooks the app and the CLI register, for tests that call services directly


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """This worker's migrated, demo-seeded PostgreSQL database for the whole run (a copy of
    the run's template, see tests/support/pgtemplate.py)."""
    dbname = f"telemed_test_{worker_name()}_{os.getpid()}"
    url = pgtemplate.create_database(dbname)
    os.environ["TELEMED_DATABASE_URL"] = url
    from telemed.core.db import get_engine
    from telemed.core.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
    yield url
    get_engine().dispose()
    pgtemplate.drop_database(dbname)


@pytest.fixture(scope="session")
def sqlite_demo() -> sqlite_runs.Built:
    """`make run`'s database, built once per run by the real command on a fresh SQLite
    file: snapshots "migrated" (db upgrade), "accounts" (seed --demo --no-activity
    --if-empty: run.sh's seeding of an empty database) and "demo" (seed --demo: the month of
    activity added)."""
    steps = [
        ("migrated", ["db", "upgrade"]),
        ("accounts", ["seed", "--demo", "--no-activity", "--if-empty"]),
        ("demo", ["seed", "--demo"]),
    ]
    return sqlite_runs.built("demo", sqlite_runs.development_env, steps)


@pytest.fixture(scope="session")
def committed_engine(database_url: str) -> Engine:
    """The engine of the test database, for tests that commit for real."""
    from telemed.core.db import get_engine

    return get_engine()


@pytest.fixture
def session(committed_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test."""
    with rolled_back(committed_engine) as s:
        yield s


@pytest.fixture
def app(session: Session):  # type: ignore[no-untyped-def]
    from telemed.app import create_app
    from telemed.core.db import fail_request, get_session

    application = create_app()

    def _session(connection: HTTPConnection) -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException as exc:
            fail_request(connection, session, exc)  # as the app does
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
