"""The job runner: procrastinate (a PostgreSQL job queue with periodic tasks and retries).

On PostgreSQL the queue is the `procrastinate_*` tables (migration 0021): every `telemed
worker` process and every in-process runner share it, a periodic task is deferred once per
tick whatever the number of workers (procrastinate's periodic-defer unique key), and each
task's `lock` keeps two runs of one task from overlapping. procrastinate cannot use SQLite,
so under `make run` the queue is procrastinate's in-memory connector inside the API
process: not durable, but every periodic task still runs on its schedule.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import procrastinate
from procrastinate.testing import InMemoryConnector
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from telemed.core.settings import Settings
from telemed.jobs.tasks import PERIODIC, Context, PeriodicTask

__all__ = [
    "CONTEXT_KEY",
    "QueueStat",
    "build_app",
    "conninfo",
    "in_process",
    "queue_stats",
    "running_worker",
]

log = logging.getLogger("telemed.jobs")
CONTEXT_KEY = "telemed"
QUEUE = "periodic"


def conninfo(database_url: str) -> str:
    """libpq connection string from our SQLAlchemy URL."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def cron_of(task: PeriodicTask, settings: Settings) -> str:
    return settings.jobs.schedules.get(task.name, task.cron)


def _register(
    app: procrastinate.App, task: PeriodicTask, settings: Settings, *, schedule: bool
) -> None:
    retry = procrastinate.RetryStrategy(
        max_attempts=settings.jobs.max_attempts, exponential_wait=settings.jobs.retry_wait_base
    )

    def run(context: procrastinate.JobContext, timestamp: int) -> dict[str, Any]:
        ctx: Context = context.additional_context[CONTEXT_KEY]
        try:
            out = task.run(ctx)
        except Exception:
            log.exception("task failed", extra={"task": task.name, "timestamp": timestamp})
            raise
        log.info("task done", extra={"task": task.name, "timestamp": timestamp, "result": out})
        return out

    run.__name__ = run.__qualname__ = task.name.replace(".", "_")
    registered = app.task(
        name=task.name, pass_context=True, retry=retry, queue=QUEUE, lock=task.name
    )(run)
    if schedule:
        app.periodic(cron=cron_of(task, settings), periodic_id=task.name)(registered)


def build_app(  # type: ignore[no-untyped-def]
    settings: Settings,
    connector: procrastinate.BaseConnector | None = None,
    *,
    schedule: bool = True,
):
    """The procrastinate app with every periodic task registered (and, unless `schedule`
    is off, deferred on its cron schedule by each worker)."""
    if connector is None:
        connector = (
            InMemoryConnector()
            if settings.is_sqlite
            else procrastinate.PsycopgConnector(conninfo=conninfo(settings.database_url))
        )
    app = procrastinate.App(connector=connector)
    for task in PERIODIC:
        _register(app, task, settings, schedule=schedule)
    return app


def worker_options(ctx: Context, **overrides: Any) -> dict[str, Any]:
    return {
        "queues": [QUEUE],
        "concurrency": ctx.settings.jobs.concurrency,
        "additional_context": {CONTEXT_KEY: ctx},
        "delete_jobs": "successful",  # failed jobs stay, for the metrics and for operators
        **overrides,
    }


def in_process(settings: Settings) -> bool:
    """Whether the API process runs the worker itself."""
    mode = settings.jobs.in_process
    return mode == "on" or (mode == "auto" and settings.is_sqlite and settings.env != "test")


@asynccontextmanager
async def running_worker(app: Any, ctx: Context) -> AsyncIterator[asyncio.Task[None]]:
    """Run a worker as a background task of this event loop until the block ends."""
    async with app.open_async():
        task = asyncio.create_task(
            app.run_worker_async(**worker_options(ctx, install_signal_handlers=False)),
            name="telemed-jobs",
        )
        try:
            yield task
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass


@dataclass(frozen=True)
class QueueStat:
    task: str
    status: str  # todo (due now), doing, failed
    jobs: int
    oldest_age_seconds: float


_QUEUE_SQL = text(
    """
    SELECT j.task_name, j.status::text, count(DISTINCT j.id),
           COALESCE(EXTRACT(EPOCH FROM now() - min(e.at)), 0)
    FROM procrastinate_jobs j
    LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
    WHERE j.status IN ('todo', 'doing', 'failed')
      AND (j.status <> 'todo' OR j.scheduled_at IS NULL OR j.scheduled_at <= now())
    GROUP BY j.task_name, j.status
    """
)


def queue_stats(*, bind: Engine | Connection, connector: Any = None) -> list[QueueStat]:
    """Jobs per task and state, and the age of the oldest (from its first deferral)."""
    if isinstance(connector, InMemoryConnector):
        now = datetime.now(UTC)
        acc: dict[tuple[str, str], list[float]] = {}
        for job in connector.jobs.values():
            status = str(job["status"])
            due = job.get("scheduled_at") is None or job["scheduled_at"] <= now
            if status not in ("todo", "doing", "failed") or (status == "todo" and not due):
                continue
            events = connector.events.get(job["id"], [])
            times = [e["at"] for e in events if e["type"] == "deferred" and e.get("at")]
            age = (now - min(times)).total_seconds() if times else 0.0
            acc.setdefault((job["task_name"], status), []).append(age)
        return [QueueStat(t, s, len(a), max(a)) for (t, s), a in sorted(acc.items())]
    if bind.dialect.name != "postgresql":
        return []
    with bind.connect() if isinstance(bind, Engine) else nullcontext(bind) as conn:
        rows = conn.execute(_QUEUE_SQL).all()
    return [QueueStat(str(t), str(s), int(n), float(age)) for t, s, n, age in rows]
