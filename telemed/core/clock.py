"""Injectable clock: every rule takes `now` from here so tests can fix time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); `None` restores the system clock."""
    global _now
    _now = fn if fn is not None else (lambda: datetime.now(UTC))


def as_utc(value: datetime) -> datetime:
    """Normalise a datetime to aware UTC (naive values are taken as UTC, as SQLite returns them)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_shanghai(value: datetime) -> datetime:
    """Show a stored UTC time in Asia/Shanghai."""
    return as_utc(value).astimezone(SHANGHAI)
