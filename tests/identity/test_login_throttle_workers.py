"""Login throttling across real processes: two uvicorn instances on the same PostgreSQL,
concurrent clients connecting from many loopback addresses (127.0.0.x)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from telemed.core.throttle import ThrottleCounter
from telemed.identity.models import AuthToken, KnownLoginAddress, Role, User
from telemed.identity.security import hash_password
from tests.support.uvicorn import instances

PASSWORD = "Steppe-horse-ride-42"
SPRAYED = 4


@pytest.fixture
def accounts(committed_engine: Engine) -> Iterator[list[str]]:
    """An owner, SPRAYED accounts to spray and one more, committed; removed after (their
    audit events stay: the log is append-only)."""
    tag = uuid.uuid4().hex[:8]
    names = [f"thr-{tag}-{i}" for i in range(SPRAYED + 2)]
    with Session(committed_engine) as s:
        inst = s.execute(select(User).where(User.username == "coordinator")).scalar_one()
        users = [
            User(
                username=n,
                password_hash=hash_password(PASSWORD),
                role=Role.COUNTY_DOCTOR,
                full_name="throttle",
                institution_id=inst.institution_id,
                created_at=datetime.now(UTC),
            )
            for n in names
        ]
        s.add_all(users)
        s.commit()
        ids = [u.id for u in users]
    try:
        yield names
    finally:
        with Session(committed_engine) as s:
            s.execute(
                delete(ThrottleCounter).where(
                    or_(
                        col(ThrottleCounter.key).contains(f"thr-{tag}"),
                        col(ThrottleCounter.key).startswith("addr:127.0.0."),
                    )
                )
            )
            s.execute(delete(KnownLoginAddress).where(col(KnownLoginAddress.user_id).in_(ids)))
            s.execute(delete(AuthToken).where(col(AuthToken.user_id).in_(ids)))
            s.execute(delete(User).where(col(User.id).in_(ids)))
            s.commit()


@pytest.fixture
def two_instances(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two app instances (separate processes) on the same database."""
    with instances(
        database_url,
        tmp_path,
        # a long first block, so that a slow run never sees one expire mid-test
        TELEMED_SECURITY__THROTTLE_BASE_SECONDS="600",
    ) as urls:
        yield urls


async def _logins(urls: list[str], attempts: list[tuple[str, str, str]]) -> list[httpx.Response]:
    """(source address, username, password) attempts, all at once, alternating instances."""
    clients: dict[tuple[str, str], httpx.AsyncClient] = {}
    for i, (address, _, _) in enumerate(attempts):
        url = urls[i % len(urls)]
        if (address, url) not in clients:
            transport = httpx.AsyncHTTPTransport(local_address=address)
            clients[(address, url)] = httpx.AsyncClient(
                base_url=url, transport=transport, timeout=120
            )

    async def one(i: int, address: str, username: str, password: str) -> httpx.Response:
        c = clients[(address, urls[i % len(urls)])]
        return await c.post("/api/v1/auth/token", data={"username": username, "password": password})

    try:
        return list(await asyncio.gather(*(one(i, *a) for i, a in enumerate(attempts))))
    finally:
        for c in clients.values():
            await c.aclose()


def _codes(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


def test_the_throttle_is_shared_by_workers_and_spares_the_owner(
    accounts: list[str], two_instances: list[str]
) -> None:
    owner, sprayed, last = accounts[0], accounts[1 : 1 + SPRAYED], accounts[-1]
    home = "127.0.0.2"
    first = asyncio.run(_logins(two_instances[:1], [(home, owner, PASSWORD)]))
    assert _codes(first) == [200]

    # 30 concurrent wrong passwords on the owner's account from 30 other addresses
    attack = [(f"127.0.0.{10 + i}", owner, f"guess-{i}") for i in range(30)]
    answers = asyncio.run(_logins(two_instances, attack))
    codes = _codes(answers)
    assert set(codes) <= {401, 429}, codes
    # 5 free failures, the 6th starts the block; at most one more per instance in flight
    assert codes.count(401) <= 5 + 1 + len(two_instances), codes
    throttled = [r for r in answers if r.status_code == 429]
    assert len(throttled) >= 30 - 8
    for r in throttled:
        assert int(r.headers["Retry-After"]) >= 1
        assert r.json()["code"] == "login_throttled"

    # the owner, at home, logs in on either instance; a new address is held back
    back_home = asyncio.run(_logins(two_instances, [(home, owner, PASSWORD)] * 2))
    assert _codes(back_home) == [200, 200]
    elsewhere = asyncio.run(_logins(two_instances, [("127.0.0.99", owner, PASSWORD)]))
    assert _codes(elsewhere) == [429]

    # spraying from one address across accounts, concurrently, on both instances
    spray = [("127.0.0.50", sprayed[i % SPRAYED], f"spray-{i}") for i in range(24)]
    spray_codes = _codes(asyncio.run(_logins(two_instances, spray)))
    assert set(spray_codes) <= {401, 429}
    assert spray_codes.count(401) <= 10 + 1 + len(two_instances), spray_codes
    assert spray_codes.count(429) >= 24 - 13

    # failures counted by one instance block the address on the other
    for _ in range(6):
        one = asyncio.run(_logins(two_instances[:1], [("127.0.0.60", last, "nope")]))
        assert _codes(one) == [401]
    other = asyncio.run(_logins(two_instances[1:], [("127.0.0.60", last, PASSWORD)]))
    assert _codes(other) == [429]
