"""Readiness probes: the database and, where registered, the archive."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from telemed.core.db import get_engine

# name -> probe raising on failure; domains register theirs (the archive does).
readiness_probes: dict[str, Callable[[], None]] = {}


def check_database() -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def readiness() -> dict[str, str]:
    """Run every probe; return name -> 'ok' or the error text."""
    results: dict[str, str] = {}
    for name, probe in {"database": check_database, **readiness_probes}.items():
        try:
            probe()
            results[name] = "ok"
        except Exception as exc:  # a probe may fail any way; report it
            results[name] = f"{type(exc).__name__}: {exc}"[:300]
    return results
