"""`/metrics` in the Prometheus text format (prometheus-client).

Request latency is a histogram per route template (`/api/v1/referrals/{referral_id}`, never
the raw path) observed by `RequestMetrics`. The job queue, the outbox and recordings are
read from the database at each scrape, so every API worker reports the same, shared
numbers whichever process did the work. With several uvicorn workers set
`PROMETHEUS_MULTIPROC_DIR` (an empty directory) to add up their latency histograms.

Access: `Authorization: Bearer $TELEMED_METRICS__TOKEN`; without a token configured the
endpoint is open in development and absent (404) elsewhere.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func
from sqlmodel import Session, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemed.core.deps import SessionDep
from telemed.core.errors import NotFound, Unauthorized
from telemed.core.notifications import Notification
from telemed.core.settings import get_settings
from telemed.jobs.runner import queue_stats
from telemed.video.models import Recording

__all__ = ["RequestMetrics", "router"]

# Our own registry: not the process-global default, so building the app twice is harmless.
REQUESTS = CollectorRegistry()
LATENCY = Histogram(
    "telemed_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["method", "route", "status"],
    registry=REQUESTS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    if route is None:
        return "unmatched"
    path = getattr(route, "path_format", None) or getattr(route, "path", "")
    return "static" if getattr(route, "name", "") == "frontend" else str(path)


class RequestMetrics:
    """ASGI middleware observing every HTTP request's duration under its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            LATENCY.labels(scope["method"], _route_of(scope), str(status["code"])).observe(
                time.perf_counter() - started
            )


class _StateCollector:
    """Gauges read from the database (and the in-memory queue under `make run`)."""

    def __init__(self, session: Session, connector: Any) -> None:
        self.session = session
        self.connector = connector

    def collect(self) -> Iterator[Metric]:
        session = self.session
        depth = GaugeMetricFamily(
            "telemed_job_queue_depth",
            "Jobs due, waiting for a worker",
            labels=["task"],
        )
        age = GaugeMetricFamily(
            "telemed_job_queue_oldest_age_seconds",
            "Age of the oldest job waiting, per task",
            labels=["task"],
        )
        running = GaugeMetricFamily(
            "telemed_job_running", "Jobs being run now, per task", labels=["task"]
        )
        failed = GaugeMetricFamily(
            "telemed_job_failed",
            "Jobs whose last attempt failed after every retry, per task",
            labels=["task"],
        )
        for s in queue_stats(bind=session.connection(), connector=self.connector):
            if s.status == "todo":
                depth.add_metric([s.task], s.jobs)
                age.add_metric([s.task], s.oldest_age_seconds)
            elif s.status == "doing":
                running.add_metric([s.task], s.jobs)
            else:
                failed.add_metric([s.task], s.jobs)
        yield from (depth, age, running, failed)
        backlog = GaugeMetricFamily(
            "telemed_outbox_backlog",
            "Messages waiting for delivery",
            labels=["channel"],
        )
        dead = GaugeMetricFamily(
            "telemed_outbox_dead_letters",
            "Messages given up after their attempts, per channel",
            labels=["channel"],
        )
        recordings = GaugeMetricFamily(
            "telemed_recordings",
            "Recordings per state",
            labels=["status"],
        )
        for channel, status, n in session.execute(
            select(Notification.channel, Notification.status, func.count())
            .where(Notification.status.in_(("pending", "dead")))  # type: ignore[attr-defined]
            .group_by(Notification.channel, Notification.status)
        ).all():
            (backlog if status == "pending" else dead).add_metric([channel], n)
        for status, n in session.execute(
            select(Recording.status, func.count()).group_by(Recording.status)
        ).all():
            recordings.add_metric([status], n)
        yield from (backlog, dead, recordings)


def _authorize(request: Request) -> None:
    settings = get_settings()
    token = settings.metrics.token
    if token is None:
        if settings.env == "development":
            return
        raise NotFound("no metrics token is configured", code="metrics_disabled")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise Unauthorized("a valid metrics token is required", code="metrics_token")


router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, session: SessionDep) -> Response:
    """Prometheus metrics: request latency, job queue, outbox, recordings."""
    _authorize(request)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(REQUESTS))  # type: ignore[arg-type]
    connector = getattr(request.app.state, "jobs_connector", None)
    registry.register(_StateCollector(session, connector))  # type: ignore[arg-type]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _Forward:
    """Exposes another registry's metrics inside a per-scrape registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()
