"""The FastAPI application: every router, health and metrics endpoints, the built frontend,
and (on SQLite, or with TELEMED_JOBS__IN_PROCESS=on) the job runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from dicom.api import router as dicom_router
from dicom.api_slides import router as slides_router
from dicom.dicomweb import router as dicomweb_router
from dicom.runtime import register_readiness as register_archive_readiness
from referrals.api import router as referrals_router
from scheduling import service as scheduling_service
from scheduling.api import router as scheduling_router
from telemed import __version__
from telemed.consultations.api import install as install_consultations
from telemed.core import audit, live
from telemed.core.admission import AdmissionMiddleware
from telemed.core.db import get_engine, request_gate_size, warm_pool
from telemed.core.errors import install_error_handlers, problem
from telemed.core.health import readiness
from telemed.core.inputs import RejectNul
from telemed.core.logging import RequestIdMiddleware, configure_logging
from telemed.core.security_headers import SecurityHeadersMiddleware
from telemed.core.settings import Settings, get_settings
from telemed.core.static_files import CompressedStaticFiles
from telemed.dashboard.api import router as dashboard_router
from telemed.fhir.api import build_router as build_fhir_router
from telemed.identity.api import router as identity_router
from telemed.inbox.api import router as inbox_router
from telemed.jobs import runner as jobs_runner
from telemed.jobs.api import router as jobs_router
from telemed.jobs.tasks import Context as JobContext
from telemed.metrics import RequestMetrics
from telemed.metrics import router as metrics_router
from telemed.network.api import router as network_router
from telemed.payments.api_sandbox import router as payments_router
from telemed.reference.api import router as reference_router
from telemed.training.api import router as training_router
from telemed.video.api import router as video_router
from telemed.video.retention_api import router as retention_router
from telemed.wiring import wire

FRONTEND_DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"
# Worker threads beyond the request gate, for work that holds no session (files, hashing).
SPARE_THREADS = 16
# The booking routes behind the admission gate (telemed.core.admission): book and hold.
BOOKING_PATHS = r"/api/v1/bookings|/api/v1/slots/[^/]+/hold"


def _lifespan(settings: Settings):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        size = request_gate_size(settings)
        app.state.db_gate = anyio.Semaphore(size)
        # Every request inside the gate must always find a worker thread to commit in.
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = max(threads.total_tokens, size + SPARE_THREADS)
        # Open part of the pool before the first request (a rush may start cold).
        await anyio.to_thread.run_sync(warm_pool, get_engine(), min(settings.db_pool_size, 8))
        # and compile the booking's statements once (scheduling.placement.warm_up).
        await anyio.to_thread.run_sync(scheduling_service.warm_up, get_engine())
        try:
            if not jobs_runner.in_process(settings):
                yield
                return
            # The job runner inside this process (`make run`; in production `telemed worker`).
            jobs = jobs_runner.build_app(settings)
            app.state.jobs_connector = jobs.connector
            async with jobs_runner.running_worker(
                jobs, JobContext(bind=get_engine(), settings=settings)
            ):
                yield
        finally:
            await live.hub.stop()  # the push channel's LISTEN connection, if one was opened

    return lifespan


def _janus_origin(settings: Settings) -> tuple[str, ...]:
    """The origin of the Janus API browsers use, when it is not the app's (CSP connect-src)."""
    url = settings.video.janus_public_url or settings.video.janus_url
    if not url or "://" not in url:
        return ()  # a path the deployment proxies: 'self' covers it
    scheme, rest = url.split("://", 1)
    return (f"{scheme}://{rest.split('/', 1)[0]}",)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application."""
    wire()  # every cross-domain hook, before any route can run
    settings = settings or get_settings()
    register_archive_readiness(settings)  # /readyz checks the configured archive
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(
        title="telemed",
        version=__version__,
        description="Remote consultation and referral system of a regional telemedicine network",
        # API documentation only where enabled (TELEMED_API_DOCS; off in production).
        docs_url="/docs" if settings.api_docs_enabled else None,
        redoc_url="/redoc" if settings.api_docs_enabled else None,
        openapi_url="/openapi.json" if settings.api_docs_enabled else None,
        lifespan=_lifespan(settings),
    )
    install_error_handlers(app)
    sch = settings.scheduling
    app.add_middleware(  # innermost middleware, before routing: a refusal costs no request
        AdmissionMiddleware,
        name="scheduling.booking",
        paths=BOOKING_PATHS,
        limit=sch.booking_in_flight,
        queue=sch.booking_queue,
        queue_seconds=sch.booking_queue_seconds,
        retry_after=sch.booking_retry_after_seconds,
        shortcut=scheduling_service.known_full,
    )
    app.add_middleware(RejectNul)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(RequestMetrics)
    if settings.dicom.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.dicom.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["x-request-id"],
        )
    headers: dict[str, Any] = {
        "hsts": settings.security.hsts,
        "hsts_max_age": settings.security.hsts_max_age,
        "connect_src": _janus_origin(settings),
    }
    app.state.record_refusal = audit.refused_request  # 403s kept in the audit log
    app.state.security_headers = headers  # for the 500 handler, outside every middleware
    app.add_middleware(SecurityHeadersMiddleware, **headers)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """Readiness: the database (and the archive, once configured) reachable."""
        checks = readiness()
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ok", "checks": checks})
        failing = ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
        return problem(
            status=503,
            code="not_ready",
            title="Not ready",
            detail=f"dependencies unavailable: {failing}",
            instance="/readyz",
            checks=checks,
        )

    app.include_router(identity_router)
    app.include_router(network_router)
    app.include_router(video_router)
    install_consultations(app, settings)
    app.include_router(scheduling_router)
    app.include_router(inbox_router)
    app.include_router(dicom_router)
    app.include_router(dicomweb_router)
    app.include_router(slides_router)
    app.include_router(referrals_router)
    app.include_router(dashboard_router)
    app.include_router(build_fhir_router())
    app.include_router(reference_router)
    app.include_router(training_router)
    app.include_router(payments_router)
    app.include_router(jobs_router)
    app.include_router(retention_router)
    app.include_router(metrics_router)

    dist = settings.frontend_dir or FRONTEND_DIST
    if (dist / "index.html").exists():
        app.mount("/", CompressedStaticFiles(directory=dist, html=True), name="frontend")
    return app
