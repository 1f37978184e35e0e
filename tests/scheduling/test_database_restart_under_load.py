"""PostgreSQL stopped and restarted under concurrent bookings: honest answers, nothing lost.

A real uvicorn serves the app on its own throwaway PostgreSQL. Clients book slots over
HTTP, each attempt with an idempotency key and retried on 503 (and on 429 busy_try_later,
the booking gate's), while the server is stopped (every session ended) and started again.
Every answer must be 201/409, or 503/429 with Retry-After (never a 500, never a reset
connection), `/readyz` must turn 503 while the database is down and 200 after, and in
the end every 201 has its row, no slot is over capacity, no key booked twice, and
replaying a key returns the first booking.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import create_engine, func, text
from sqlmodel import Session, select

from tests.support import pgserver
from tests.support.uvicorn import app_env, serve

CLIENTS = 10
SLOTS = 12
CAPACITY = 4
PASSWORD = "restart-test-password"


@pytest.fixture
def own_postgres() -> Iterator[pgserver.PgServer]:
    """A PostgreSQL of this test's own: stopping it disturbs no other test."""
    server = pgserver.start()
    try:
        yield server
    finally:
        server.stop()


def _seed(url: str) -> tuple[list[str], list[uuid.UUID]]:
    from scheduling.models import Slot
    from telemed.cli import upgrade_database
    from telemed.identity.models import Role, User
    from telemed.identity.security import hash_password
    from telemed.network.models import Institution, League

    upgrade_database(url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    with Session(engine) as s:
        s.add(League(code="150100", name_zh="呼和浩特市", name_en="Hohhot", kind="city"))
        s.flush()
        inst = Institution(
            code="R1", name_zh="重启医院", tier="regional", league_code="150100", in_network=True
        )
        s.add(inst)
        s.flush()
        pw = hash_password(PASSWORD)
        names = [f"booker{i}" for i in range(CLIENTS)]
        s.add_all(
            User(
                username=n,
                password_hash=pw,
                role=Role.COUNTY_DOCTOR,
                full_name=n,
                institution_id=inst.id,
                created_at=now,
            )
            for n in names
        )
        start = now + timedelta(days=3)
        slots = [
            Slot(
                institution_id=inst.id,
                specialty_code="cardiology",
                service_class="consultation",
                league_code="150100",
                tier="regional",
                institution_name="重启医院",
                start_at=start + timedelta(hours=i),
                end_at=start + timedelta(hours=i, minutes=30),
                capacity=CAPACITY,
                release_at=start,
                created_at=now,
            )
            for i in range(SLOTS)
        ]
        s.add_all(slots)
        s.commit()
        slot_ids = [sl.id for sl in slots]
    engine.dispose()
    return names, slot_ids


def test_database_restart_under_load_answers_503_and_loses_nothing(
    own_postgres: pgserver.PgServer,
) -> None:
    admin = create_engine(own_postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE telemed"))
    admin.dispose()
    url = own_postgres.url_for("telemed")
    names, slot_ids = _seed(url)
    env = app_env(TELEMED_DATABASE_URL=url, TELEMED_LOG_LEVEL="ERROR")
    answers: Counter[int] = Counter()
    errors: list[str] = []
    created: dict[str, str] = {}  # idempotency key -> booking id answered 201
    retry_after_missing: list[int] = []
    lock = threading.Lock()
    started = threading.Barrier(CLIENTS + 1)
    halfway = threading.Event()
    done = [0]

    with serve(env) as base:
        tokens = {}
        for n in names:
            r = httpx.post(f"{base}/api/v1/auth/token", data={"username": n, "password": PASSWORD})
            assert r.status_code == 200, r.text
            tokens[n] = {"Authorization": f"Bearer {r.json()['access_token']}"}

        def book_all(name: str) -> None:
            order = list(slot_ids)
            random.Random(name).shuffle(order)
            with httpx.Client(base_url=base, headers=tokens[name], timeout=60) as client:
                started.wait(timeout=30)
                for slot_id in order:
                    key = f"{name}-{slot_id}"
                    for _ in range(600):  # retried on 503 until the database is back
                        try:
                            r = client.post(
                                "/api/v1/bookings",
                                json={"slot_id": str(slot_id)},
                                headers={"Idempotency-Key": key},
                            )
                        except httpx.TransportError as exc:
                            with lock:
                                errors.append(f"{type(exc).__name__}: {exc}")
                            break
                        with lock:
                            answers[r.status_code] += 1
                            if r.status_code in (429, 503) and not r.headers.get("retry-after"):
                                retry_after_missing.append(r.status_code)
                        if r.status_code not in (429, 503):  # 429: the booking gate's
                            break
                        time.sleep(0.1)
                    with lock:
                        if r.status_code in (200, 201):  # 200: the replay of a lost answer
                            created[key] = r.json()["id"]
                        done[0] += 1
                        if done[0] >= CLIENTS * SLOTS // 4:
                            halfway.set()

        threads = [threading.Thread(target=book_all, args=(n,)) for n in names]
        for t in threads:
            t.start()
        started.wait(timeout=30)
        assert halfway.wait(timeout=300)
        own_postgres.halt()
        ready_down = _wait_ready(base, 503)
        own_postgres.resume()
        ready_up = _wait_ready(base, 200)
        for t in threads:
            t.join(timeout=600)
        assert not any(t.is_alive() for t in threads)

        assert errors == []
        # 429 busy_try_later: the booking routes' admission gate, full while the restart
        # slows requests down (telemed.core.admission), retried like a 503
        assert set(answers) <= {200, 201, 409, 429, 503}, answers
        assert answers[503] > 0, answers  # the outage was seen, and answered honestly
        assert retry_after_missing == []
        assert ready_down["code"] == "not_ready"
        assert ready_up["status"] == "ok"

        # Replaying a key returns the first booking, creates nothing.
        with httpx.Client(base_url=base, timeout=60) as client:
            for key, booking_id in list(created.items())[:20]:
                name, slot_id = key.split("-", 1)
                r = client.post(
                    "/api/v1/bookings",
                    json={"slot_id": slot_id},
                    headers={"Idempotency-Key": key, **tokens[name]},
                )
                assert r.status_code in (200, 201), r.text
                assert r.json()["id"] == booking_id

    engine = create_engine(url)
    try:
        from scheduling.models import Booking

        with Session(engine) as s:
            rows = s.execute(select(Booking.id, Booking.slot_id)).all()
            booked = {str(r.id) for r in rows}
            per_slot = Counter(r.slot_id for r in rows)
            total = s.execute(select(func.count()).select_from(Booking)).scalar_one()
    finally:
        engine.dispose()
    assert set(created.values()) <= booked  # every 201 has its row
    assert len(set(created.values())) == len(created)  # no key answered with a shared row
    assert total == len(created), (total, len(created))  # nothing booked without its 201
    # Every client tried every slot, so every place was taken exactly once.
    assert per_slot == dict.fromkeys(slot_ids, CAPACITY)


def _wait_ready(base: str, status: int, timeout: float = 60) -> dict[str, object]:
    """Poll /readyz until it answers `status`; its body."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{base}/readyz", timeout=10)
            if r.status_code == status:
                return dict(r.json())
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"/readyz did not answer {status} within {timeout} s")
