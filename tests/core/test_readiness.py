"""/readyz follows the database: 503 within seconds of an outage, 200 again by itself after.

A real uvicorn on a PostgreSQL of the test's own, stopped (every session ended) and
started again; no request in between is allowed to hang or to answer 500.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from telemed.core.db import PG_CONNECT_TIMEOUT_SECONDS
from tests.support import pgserver
from tests.support.uvicorn import app_env, serve


@pytest.fixture
def own_postgres() -> Iterator[pgserver.PgServer]:
    server = pgserver.start()
    try:
        yield server
    finally:
        server.stop()


def _until(base: str, status: int, within: float) -> tuple[float, httpx.Response]:
    """Poll /readyz until it answers `status`: seconds taken and the answer."""
    start = time.monotonic()
    seen: list[int] = []
    while time.monotonic() - start < within:
        r = httpx.get(f"{base}/readyz", timeout=within)
        seen.append(r.status_code)
        if r.status_code == status:
            return time.monotonic() - start, r
        time.sleep(0.1)
    raise AssertionError(f"/readyz never answered {status} within {within} s: {seen[-5:]}")


def test_readyz_turns_503_on_a_database_outage_and_recovers_by_itself(
    own_postgres: pgserver.PgServer,
) -> None:
    admin = create_engine(own_postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE telemed"))
    admin.dispose()
    url = own_postgres.url_for("telemed")
    from telemed.cli import upgrade_database

    upgrade_database(url)
    with serve(app_env(TELEMED_DATABASE_URL=url, TELEMED_LOG_LEVEL="ERROR")) as base:
        assert httpx.get(f"{base}/readyz", timeout=30).json()["status"] == "ok"
        unauthenticated = {"Authorization": "Bearer no-such-token"}
        assert httpx.get(f"{base}/api/v1/auth/me", headers=unauthenticated).status_code == 401

        own_postgres.halt()
        # Bounded by the connect timeout, not by TCP: a few seconds, never a hang.
        _, down = _until(base, 503, within=3 * PG_CONNECT_TIMEOUT_SECONDS)
        assert down.headers["content-type"].startswith("application/problem+json")
        assert down.json()["code"] == "not_ready"
        assert down.json()["checks"]["database"] != "ok"
        during = httpx.get(f"{base}/api/v1/auth/me", headers=unauthenticated, timeout=30)
        assert during.status_code == 503 and during.json()["code"] == "database_unavailable"
        assert int(during.headers["Retry-After"]) > 0

        own_postgres.resume()
        _, up = _until(base, 200, within=60)  # no restart of the app: it recovers itself
        assert up.json() == {"status": "ok", "checks": {"database": "ok"}}
        after = httpx.get(f"{base}/api/v1/auth/me", headers=unauthenticated, timeout=30)
        assert after.status_code == 401
