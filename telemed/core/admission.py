"""Admission control: a route's bounded in-flight gate per worker, refusing the excess
at once (429 `busy_try_later` with Retry-After) instead of letting it queue for seconds.

A rush (the 08:00 slot release) sends more booking attempts than a worker can serve
within the latency budget. Past `limit` requests in flight, a request waits at most
`queue_seconds` in a short FIFO queue (at most `queue` of them): it is admitted when one
leaves, else answered 429 in the event loop, without a thread, a session or a query. The
admitted ones keep their latency; the refused learn within ~`queue_seconds` to retry
after `retry_after` seconds (clients spread their retries; a patient's retry with the same
Idempotency-Key, or without it, never books twice: `scheduling.places`).

How it is sized (docs/operations.md): `limit` about the requests a worker completes
within a tenth of the budget (its threads and pool connections stay free for other
routes); `queue` about what it completes within `queue_seconds`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from starlette.requests import HTTPConnection

from telemed.core.throttle import Throttled

__all__ = ["Gate", "admitted"]


@dataclass
class Gate:
    """One worker's gate for a group of routes."""

    limit: int
    queue: int
    queue_seconds: float
    retry_after: float
    in_flight: int = 0
    waiting: int = 0
    _free: anyio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self._free = anyio.Semaphore(self.limit)

    def refuse(self) -> Throttled:
        wait = max(1, math.ceil(self.retry_after))
        return Throttled(
            f"too many requests are being served right now; try again in {wait} s",
            code="busy_try_later",
            retry_after=wait,
        )

    async def enter(self) -> None:
        """Take a place in flight, waiting at most `queue_seconds` (429 otherwise)."""
        if self.waiting == 0 and self._free.value > 0:
            self._free.acquire_nowait()
        elif self.waiting >= self.queue:
            raise self.refuse()
        else:
            self.waiting += 1
            try:
                with anyio.move_on_after(self.queue_seconds) as waited:
                    await self._free.acquire()
            finally:
                self.waiting -= 1
            if waited.cancelled_caught:
                raise self.refuse()
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1
        self._free.release()


@asynccontextmanager
async def admitted(
    connection: HTTPConnection,
    name: str,
    *,
    limit: int,
    queue: int,
    queue_seconds: float,
    retry_after: float,
) -> AsyncIterator[None]:
    """Hold a place of this app's gate `name` (made on first use with these sizes) for
    the rest of the request (429 busy_try_later when none is free in time)."""
    gates: dict[str, Gate] | None = getattr(connection.app.state, "admission_gates", None)
    if gates is None:
        gates = connection.app.state.admission_gates = {}
    gate = gates.get(name)
    if gate is None:
        gate = gates[name] = Gate(limit, queue, queue_seconds, retry_after)
    await gate.enter()
    try:
        yield
    finally:
        gate.leave()
