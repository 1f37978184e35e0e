"""Admission control of the booking routes: a full gate answers at once 429
busy_try_later with Retry-After (deterministic: the gate is filled by the test)."""

from __future__ import annotations

import uuid

import anyio
import anyio.lowlevel
import pytest
from fastapi.testclient import TestClient

from telemed.core.admission import Gate
from telemed.core.throttle import Throttled


def test_a_full_gate_refuses_the_next_booking_with_retry_after(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    headers = login("patient")
    gate = Gate(limit=1, queue=0, queue_seconds=0, retry_after=3)
    client.app.state.admission_gates = {"scheduling.booking": gate}  # type: ignore[attr-defined]
    anyio.run(gate.enter)  # the one place is taken by a request still in flight
    r = client.post("/api/v1/bookings", json={"slot_id": str(uuid.uuid4())}, headers=headers)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "3"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "busy_try_later"
    gate.leave()  # the place is free again: the request is heard (an unknown slot: 404)
    r = client.post("/api/v1/bookings", json={"slot_id": str(uuid.uuid4())}, headers=headers)
    assert r.status_code == 404
    assert gate.in_flight == 0


def test_the_queue_admits_in_order_and_refuses_beyond_its_length() -> None:
    async def main() -> None:
        gate = Gate(limit=1, queue=1, queue_seconds=3600, retry_after=1)
        await gate.enter()  # in flight
        admitted = anyio.Event()

        async def waiter() -> None:
            await gate.enter()
            admitted.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            while gate.waiting == 0:
                await anyio.lowlevel.checkpoint()
            with pytest.raises(Throttled) as refused:  # the queue is full: at once
                await gate.enter()
            assert refused.value.code == "busy_try_later"
            gate.leave()
            await admitted.wait()
        assert gate.in_flight == 1 and gate.waiting == 0

    anyio.run(main)


def test_a_wait_past_queue_seconds_is_refused() -> None:
    async def main() -> None:
        gate = Gate(limit=1, queue=4, queue_seconds=0, retry_after=1)
        await gate.enter()
        with pytest.raises(Throttled):
            await gate.enter()
        assert gate.waiting == 0 and gate.in_flight == 1

    anyio.run(main)


def test_the_pool_is_warmed_before_the_first_request(database_url: str) -> None:
    from telemed.core.db import make_engine, warm_pool

    engine = make_engine(database_url, pool_size=4, max_overflow=0)
    try:
        assert engine.pool.checkedin() == 0  # type: ignore[attr-defined]
        assert warm_pool(engine, 3) == 3
        assert engine.pool.checkedin() == 3  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_the_gate_refuses_before_authentication_and_routing(client: TestClient) -> None:
    """The gate is an ASGI middleware before FastAPI: a full gate answers 429 even to a
    request without a token or with a body FastAPI would refuse (no 401, no 422)."""
    gate = Gate(limit=1, queue=0, queue_seconds=0, retry_after=2)
    client.app.state.admission_gates = {"scheduling.booking": gate}  # type: ignore[attr-defined]
    anyio.run(gate.enter)
    for path, body in (
        ("/api/v1/bookings", b"not json"),
        (f"/api/v1/slots/{uuid.uuid4()}/hold", b""),
    ):
        r = client.post(path, content=body)
        assert r.status_code == 429, r.text
        assert r.json()["code"] == "busy_try_later" and r.headers["Retry-After"] == "2"
    assert client.get("/api/v1/bookings").status_code == 401  # other routes: not gated
    gate.leave()
    assert client.post("/api/v1/bookings", content=b"not json").status_code in (401, 422)
    assert gate.in_flight == 0


def test_the_booking_statements_are_compiled_at_start(database_url: str) -> None:
    """warm_up runs the booking's first statement and place-taking UPDATE once (rolled
    back): they are in the engine's compiled cache before the first request."""
    from scheduling.service import warm_up
    from telemed.core.db import make_engine

    engine = make_engine(database_url, pool_size=2, max_overflow=0)
    try:
        before = len(engine._compiled_cache)  # type: ignore[attr-defined, arg-type]
        assert warm_up(engine) is True
        assert len(engine._compiled_cache) >= before + 2  # type: ignore[attr-defined, arg-type]
    finally:
        engine.dispose()
