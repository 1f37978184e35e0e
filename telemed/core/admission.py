"""Admission control: a route's bounded in-flight gate per worker, refusing the excess
at once (429 `busy_try_later` with Retry-After) instead of letting it queue for seconds.

A rush (the 08:00 slot release) sends more booking attempts than a worker can serve
within the latency budget. Past `limit` requests in flight, a request waits at most
`queue_seconds` in a short FIFO queue (at most `queue` of them): it is admitted when one
leaves, else answered 429 in the event loop, without a thread, a session or a query. The
admitted ones keep their latency; the refused learn within ~`queue_seconds` to retry
after `retry_after` seconds (clients spread their retries; a patient's retry with the same
Idempotency-Key, or without it, never books twice: `scheduling.places`).

Where it runs: `AdmissionMiddleware`, a pure ASGI middleware inside the app's other
(pure ASGI) middleware and before FastAPI's routing, dependency resolution, body parsing,
authentication and any database work: a refusal costs a few microseconds of the event
loop. An optional `shortcut` answers a known refusal (e.g. `scheduling.full_slots`)
from the worker's memory while holding a place, before the app sees the request.

How it is sized (docs/operations.md): `limit` about the requests a worker completes
within a tenth of the budget (its threads and pool connections stay free for other
routes); `queue` about what it completes within `queue_seconds`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from telemed.core.errors import DomainError, domain_problem
from telemed.core.throttle import Throttled

__all__ = ["AdmissionMiddleware", "Gate", "Shortcut"]

# A known refusal of a request, from the worker's memory (None: let the app decide), and
# the `receive` the app is then called with (the shortcut may have read the body).
Shortcut = Callable[[Scope, Receive], Awaitable[tuple[DomainError | None, Receive]]]


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


def _gate_of(app: Any, name: str, sizes: dict[str, Any]) -> Gate:
    """The app's gate `name`, made on first use with these sizes (app.state)."""
    gates: dict[str, Gate] | None = getattr(app.state, "admission_gates", None)
    if gates is None:
        gates = app.state.admission_gates = {}
    gate = gates.get(name)
    if gate is None:
        gate = gates[name] = Gate(**sizes)
    return gate


class AdmissionMiddleware:
    """Admit the requests of `methods` whose path matches `paths` through the gate `name`
    (sizes as in `Gate`); the excess is answered 429 busy_try_later at once."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        name: str,
        paths: str,
        methods: tuple[str, ...] = ("POST",),
        limit: int,
        queue: int,
        queue_seconds: float,
        retry_after: float,
        shortcut: Shortcut | None = None,
    ) -> None:
        self.app = app
        self.name = name
        self.paths = re.compile(paths)
        self.methods = frozenset(methods)
        self.sizes = {
            "limit": limit,
            "queue": queue,
            "queue_seconds": queue_seconds,
            "retry_after": retry_after,
        }
        self.shortcut = shortcut

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in self.methods
            or not self.paths.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        gate = _gate_of(scope["app"], self.name, self.sizes)
        try:
            await gate.enter()
        except Throttled as refused:
            await domain_problem(refused, scope["path"])(scope, receive, send)
            return
        try:
            if self.shortcut is not None:
                known, receive = await self.shortcut(scope, receive)
                if known is not None:
                    await domain_problem(known, scope["path"])(scope, receive, send)
                    return
            await self.app(scope, receive, send)
        finally:
            gate.leave()
