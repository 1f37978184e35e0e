"""Failure counters with exponential back-off, shared by every worker through the database.

A counter is a row keyed by what it protects (`addr:203.0.113.7`, `acct:alice`). Each
failure increments it atomically (an upsert: concurrent workers never lose a count); past
`free` failures the key is blocked for `base * 2**(failures - free - 1)` seconds, capped.
A counter without failures for `forget` seconds starts again from zero.

Why a table and not `limits`: its storages are memory (per process), Redis, Memcached,
MongoDB and etcd; the deployment has PostgreSQL only, and SQLite on one machine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col, select

from telemed.core.db import utc_field
from telemed.core.errors import DomainError

__all__ = ["Backoff", "Throttled", "ThrottleCounter", "blocked_for", "clear", "record_failure"]


class ThrottleCounter(SQLModel, table=True):
    """Recent failures of one key and until when it is blocked."""

    __tablename__ = "throttle_counter"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    last_failure_at: datetime = utc_field()
    blocked_until: datetime | None = utc_field(nullable=True, index=True)


class Throttled(DomainError):
    """429: too many failures; `retry_after` seconds until the next attempt is heard."""

    status, code, title = 429, "throttled", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code, retry_after=retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Backoff:
    """How a kind of key backs off: failures allowed free, first block, cap, memory."""

    free: int
    base_seconds: float
    max_seconds: float
    forget_seconds: float

    def block_seconds(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        exponent = min(failures - self.free - 1, 62)
        return float(min(self.max_seconds, self.base_seconds * 2**exponent))


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def blocked_for(*, session: Session, keys: Iterable[str], now: datetime) -> int:
    """Seconds until every key in `keys` is free again (0: none is blocked)."""
    latest = session.execute(
        select(col(ThrottleCounter.blocked_until)).where(
            col(ThrottleCounter.key).in_(list(keys)), col(ThrottleCounter.blocked_until) > now
        )
    ).scalars()
    waits = [(until - now).total_seconds() for until in latest if until is not None]
    return max((math.ceil(w) for w in waits), default=0)


def record_failure(*, session: Session, key: str, backoff: Backoff, now: datetime) -> int:
    """Count one failure of `key` (atomically, across workers); return the seconds it is
    now blocked for (0 while within the free failures)."""
    table = ThrottleCounter.__table__  # type: ignore[attr-defined]
    stale = now - timedelta(seconds=backoff.forget_seconds)
    stmt = _insert(session)(table).values(key=key, failures=1, last_failure_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((table.c.last_failure_at < stale, 1), else_=table.c.failures + 1),
            "last_failure_at": now,
        },
    ).returning(table.c.failures)
    failures = int(session.execute(stmt).scalar_one())
    seconds = backoff.block_seconds(failures)
    if seconds:
        until = now + timedelta(seconds=seconds)
        session.execute(
            update(ThrottleCounter)
            .where(col(ThrottleCounter.key) == key)
            .values(blocked_until=until)
        )
    return math.ceil(seconds)


def clear(*, session: Session, keys: Iterable[str]) -> None:
    """Forget the failures of `keys` (after a success)."""
    session.execute(delete(ThrottleCounter).where(col(ThrottleCounter.key).in_(list(keys))))
