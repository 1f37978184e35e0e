"""Shared set-up of the scheduling benchmarks: a throwaway PostgreSQL, the migrated and
demo-seeded database, and a real uvicorn server of the app (plus one baseline route).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("TELEMED_ENV", "test")
os.environ.setdefault("TELEMED_SECRET_KEY", "benchmark-secret-key-not-for-production")
os.environ.setdefault("TELEMED_LOG_LEVEL", "WARNING")


@dataclass
class Env:
    url: str  # SQLAlchemy URL of the benchmark database
    dsn: str  # plain libpq DSN (for the raw-SQL baseline)
    base_url: str  # the running server


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: list[float]) -> str:
    p50, p95, p99 = (percentile(values, p) * 1000 for p in (50, 95, 99))
    mean = statistics.fmean(values) * 1000
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, mean {mean:.1f} ms"


def durable() -> bool:
    """fsync, synchronous_commit and full_page_writes on (TELEMED_BENCH_DURABLE=1, the
    benchmarks' --durable), as PostgreSQL ships; off (the test suite's) otherwise."""
    return os.environ.get("TELEMED_BENCH_DURABLE", "") == "1"


@contextmanager
def database() -> Iterator[tuple[str, str]]:
    """A migrated, demo-seeded PostgreSQL database on a throwaway server."""
    from sqlalchemy import create_engine, text

    from tests.support import pgserver

    server = pgserver.start()
    try:
        admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if durable():  # PostgreSQL's default durability, not the test suite's settings
                for name in ("fsync", "synchronous_commit", "full_page_writes"):
                    conn.execute(text(f"ALTER SYSTEM SET {name} = on"))
                conn.execute(text("SELECT pg_reload_conf()"))
            conn.execute(text('CREATE DATABASE "bench"'))
        admin.dispose()
        url = server.url_for("bench")
        os.environ["TELEMED_DATABASE_URL"] = url
        from telemed.cli import upgrade_database
        from telemed.core.db import get_engine
        from telemed.core.settings import get_settings

        get_settings.cache_clear()
        get_engine.cache_clear()
        upgrade_database(url)
        from sqlmodel import Session

        from telemed.seed import seed_demo

        t = time.perf_counter()
        with Session(get_engine()) as session:
            seed_demo(session, get_settings())
            session.commit()
        print(f"# demo seed on PostgreSQL: {time.perf_counter() - t:.1f} s", flush=True)
        dsn = f"host=127.0.0.1 port={server.port} user=postgres dbname=bench"
        yield url, dsn
        get_engine().dispose()
    finally:
        server.stop()


@contextmanager
def server(url: str, *, workers: int = 1, **settings: str) -> Iterator[str]:
    """uvicorn serving the app (with the baseline route) on a free port; `settings`:
    TELEMED_* variables for it."""
    from tests.support.uvicorn import serve

    env = {**os.environ, "TELEMED_DATABASE_URL": url, "PYTHONPATH": str(ROOT), **settings}
    with serve(
        env, app="benchmarks._scheduling_app:make_app", workers=workers, start_timeout=240
    ) as base:
        yield base
