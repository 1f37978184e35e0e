"""A burst of requests far larger than the connection pool: every request is answered.

Without the request gate a worker deadlocked here: requests holding a pooled connection
waited for a worker thread to commit, while every thread was taken by requests waiting
for a connection; they failed with 500 once the pool timeout ran out.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduling.models import Booking, Slot
from telemed.core.notifications import Notification
from telemed.identity.models import AuthToken, Role, User
from telemed.identity.security import new_token, token_digest
from tests.support.uvicorn import serve

REQUESTS = 80  # twice the default worker threads, forty times the pool below
CAPACITY = 5


@pytest.fixture
def crowd(committed_engine: Engine) -> Iterator[tuple[list[str], uuid.UUID]]:
    """REQUESTS doctors with tokens and one slot of capacity CAPACITY (committed)."""
    now = datetime.now(UTC)
    tokens: list[str] = []
    with Session(committed_engine) as s:
        coord = s.execute(select(User).where(User.username == "coordinator")).scalar_one()
        users = [
            User(
                username=f"gate-{uuid.uuid4().hex[:10]}",
                password_hash="x",
                role=Role.COUNTY_DOCTOR,
                full_name="gate",
                institution_id=coord.institution_id,
                created_at=now,
            )
            for _ in range(REQUESTS)
        ]
        s.add_all(users)
        s.flush()
        for u in users:
            tok = new_token()
            tokens.append(tok)
            s.add(
                AuthToken(
                    token_hash=token_digest(tok),
                    user_id=u.id,
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                )
            )
        start = now.replace(microsecond=0) + timedelta(days=5)
        slot = Slot(
            institution_id=coord.institution_id,
            specialty_code="cardiology",
            service_class="consultation",
            league_code="150100",
            tier="regional",
            institution_name="gate test",
            start_at=start,
            end_at=start + timedelta(minutes=30),
            capacity=CAPACITY,
            release_at=start,
            created_at=now,
        )
        s.add(slot)
        s.commit()
        user_ids = [u.id for u in users]
        slot_id = slot.id
    try:
        yield tokens, slot_id
    finally:
        with Session(committed_engine) as s:
            s.execute(delete(Booking).where(col(Booking.slot_id) == slot_id))
            s.execute(delete(Notification).where(col(Notification.user_id).in_(user_ids)))
            s.execute(delete(Slot).where(col(Slot.id) == slot_id))
            s.execute(delete(AuthToken).where(col(AuthToken.user_id).in_(user_ids)))
            s.execute(delete(User).where(col(User.id).in_(user_ids)))
            s.commit()


@pytest.fixture
def tiny_pool_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """uvicorn on the test database with a pool of two connections and a short timeout."""
    env = {
        **os.environ,
        "TELEMED_ENV": "test",
        "TELEMED_DATABASE_URL": database_url,
        "TELEMED_DB_POOL_SIZE": "2",
        "TELEMED_DB_MAX_OVERFLOW": "0",
        "TELEMED_DB_POOL_TIMEOUT": "3",
        "TELEMED_FRONTEND_DIR": str(tmp_path),  # no built frontend needed
        "TELEMED_DICOM__ARCHIVE_DIR": str(tmp_path / "archive"),
        "TELEMED_DICOM__SPOOL_DIR": str(tmp_path / "spool"),
        "TELEMED_DICOM__GATEWAY_ENABLED": "false",
        # the booking routes' admission gate (which would refuse most of this burst with
        # 429 busy_try_later, tests/core/test_admission.py) wide open: the pool's gate is
        # what is tested here
        "TELEMED_SCHEDULING__BOOKING_IN_FLIGHT": str(REQUESTS),
    }
    with (tmp_path / "server.log").open("w") as log, serve(env, log) as url:
        yield url


async def _burst(base_url: str, tokens: list[str], slot_id: uuid.UUID) -> list[int]:
    limits = httpx.Limits(max_connections=len(tokens))
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:

        async def one(token: str) -> int:
            r = await client.post(
                "/api/v1/bookings",
                json={"slot_id": str(slot_id)},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
            )
            return r.status_code

        return list(await asyncio.gather(*(one(t) for t in tokens)))


def test_a_burst_beyond_the_pool_is_answered_not_deadlocked(
    crowd: tuple[list[str], uuid.UUID], tiny_pool_server: str, committed_engine: Engine
) -> None:
    tokens, slot_id = crowd
    codes = asyncio.run(_burst(tiny_pool_server, tokens, slot_id))
    assert sorted(set(codes)) == [201, 409], codes
    assert codes.count(201) == CAPACITY
    with Session(committed_engine) as s:
        slot = s.get(Slot, slot_id)
        assert slot is not None and slot.booked == CAPACITY
