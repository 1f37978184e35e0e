"""The token cache across real processes: two uvicorn instances on one PostgreSQL, each
holding the same tokens in its cache; a logout, a password change or a deactivation done
through one (or by another process) refuses the token in the other on its very next
request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from telemed.identity.models import AuthToken, KnownLoginAddress, Role, User
from telemed.identity.security import hash_password
from tests.support.uvicorn import instances

PASSWORD = "Grassland-wind-blows-77"


@pytest.fixture
def account(committed_engine: Engine) -> Iterator[str]:
    name = f"tc-{uuid.uuid4().hex[:10]}"
    with Session(committed_engine) as s:
        inst = s.execute(select(User).where(User.username == "coordinator")).scalar_one()
        user = User(
            username=name,
            password_hash=hash_password(PASSWORD),
            role=Role.COUNTY_DOCTOR,
            full_name="cache",
            institution_id=inst.institution_id,
            created_at=datetime.now(UTC),
        )
        s.add(user)
        s.commit()
        uid = user.id
    try:
        yield name
    finally:
        with Session(committed_engine) as s:
            s.execute(delete(KnownLoginAddress).where(col(KnownLoginAddress.user_id) == uid))
            s.execute(delete(AuthToken).where(col(AuthToken.user_id) == uid))
            s.commit()


@pytest.fixture
def two_instances(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two app instances (separate processes) on the same database, caching tokens long."""
    with instances(
        database_url,
        tmp_path,
        TELEMED_SECURITY__TOKEN_CACHE_SECONDS="3600",  # only an invalidation can end it
    ) as urls:
        yield urls


def _login(c: httpx.Client, name: str, password: str = PASSWORD) -> dict[str, str]:
    r = c.post("/api/v1/auth/token", data={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _cached(clients: list[httpx.Client], headers: dict[str, str]) -> None:
    """Both instances resolve the token (and keep it in their caches)."""
    for c in clients:
        for _ in range(2):
            assert c.get("/api/v1/auth/me", headers=headers).status_code == 200


def test_logout_password_change_and_deactivation_end_the_token_in_every_worker(
    account: str, two_instances: list[str], committed_engine: Engine
) -> None:
    a, b = (httpx.Client(base_url=u, timeout=60) for u in two_instances)
    with a, b:
        # logout on A: B refuses the token on its next request
        first = _login(a, account)
        _cached([a, b], first)
        assert a.post("/api/v1/auth/logout", headers=first).status_code in (200, 204)
        assert b.get("/api/v1/auth/me", headers=first).status_code == 401
        assert a.get("/api/v1/auth/me", headers=first).status_code == 401

        # a password change on B revokes the user's other tokens, also cached on A
        kept, other = _login(b, account), _login(a, account)
        _cached([a, b], kept)
        _cached([a, b], other)
        new_password = "Another-steppe-song-93"
        r = b.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": new_password},
            headers=kept,
        )
        assert r.status_code in (200, 204), r.text
        assert a.get("/api/v1/auth/me", headers=other).status_code == 401
        assert a.get("/api/v1/auth/me", headers=kept).status_code == 200

        # a deactivation committed by a third process (this one): both refuse at once
        _cached([a, b], kept)
        with Session(committed_engine) as s:
            s.execute(update(User).where(col(User.username) == account).values(is_active=False))
            s.commit()
        assert a.get("/api/v1/auth/me", headers=kept).status_code == 401
        assert b.get("/api/v1/auth/me", headers=kept).status_code == 401
