"""Security headers on HTML, API, DICOMweb, FHIR and error responses; API docs toggle."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from telemed.core.settings import get_settings

COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _app(session: Session, **update: object) -> FastAPI:
    from telemed.app import create_app
    from telemed.core.db import get_session

    application = create_app(get_settings().model_copy(update=update))

    def _session() -> Iterator[Session]:
        yield session

    application.dependency_overrides[get_session] = _session
    return application


@pytest.fixture
def web(session: Session, tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "index.html").write_text("<!doctype html><div id=app></div>")
    with TestClient(_app(session, frontend_dir=tmp_path), raise_server_exceptions=False) as c:
        yield c


def _assert_common(headers: dict[str, str] | object) -> str:
    h = {k.lower(): v for k, v in dict(headers).items()}  # type: ignore[call-overload]
    for name, value in COMMON.items():
        assert h.get(name) == value, (name, h.get(name))
    csp = h["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self' 'wasm-unsafe-eval';" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    return csp


def test_html_app_has_the_headers_and_is_cacheable(web: TestClient) -> None:
    r = web.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    csp = _assert_common(r.headers)
    assert "connect-src 'self' ws://testserver wss://testserver" in csp
    assert "img-src 'self' data: blob:" in csp
    assert "no-store" not in r.headers.get("cache-control", "")


def test_api_and_errors_are_no_store(
    web: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    ok = web.get("/api/v1/auth/me", headers=login("specialist"))
    refused = web.get("/api/v1/auth/me")
    missing = web.get("/api/v1/no-such-thing")
    for r, status in ((ok, 200), (refused, 401), (missing, 404)):
        assert r.status_code == status
        _assert_common(r.headers)
        assert r.headers["cache-control"] == "no-store"


def test_dicomweb_and_fhir_are_no_store(
    web: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    studies = web.get("/dicom-web/studies", headers=login("county-doctor"))
    assert studies.status_code in (200, 204), studies.text
    fhir = web.get("/fhir/R4/Appointment", headers=login("county-doctor"))
    for r in (studies, fhir, web.get("/dicom-web/studies")):
        _assert_common(r.headers)
        assert r.headers["cache-control"] == "no-store"


def test_a_route_keeps_its_own_cache_control(session: Session) -> None:
    app = _app(session)

    @app.get("/api/v1/test-cached")
    def cached() -> dict[str, str]:
        from fastapi.responses import JSONResponse

        return JSONResponse({"a": "b"}, headers={"Cache-Control": "private, max-age=60"})  # type: ignore[return-value]

    @app.get("/api/v1/test-boom")
    def boom() -> None:
        raise RuntimeError("boom")

    # ahead of the frontend's catch-all mount
    app.router.routes[:0] = [app.router.routes.pop(), app.router.routes.pop()]
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/api/v1/test-cached").headers["cache-control"] == "private, max-age=60"
        err = c.get("/api/v1/test-boom")
        assert err.status_code == 500
        _assert_common(err.headers)
        assert err.headers["cache-control"] == "no-store"


def test_hsts_only_behind_tls_or_when_configured(web: TestClient, session: Session) -> None:
    assert "strict-transport-security" not in web.get("/healthz").headers
    tls = web.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert tls.headers["strict-transport-security"].startswith("max-age=31536000")
    security = get_settings().security.model_copy(update={"hsts": True})
    with TestClient(_app(session, security=security)) as c:
        assert "strict-transport-security" in c.get("/healthz").headers


def test_api_docs_only_when_enabled(session: Session) -> None:
    with TestClient(_app(session, api_docs=False), raise_server_exceptions=False) as c:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert c.get(path).status_code == 404, path
    with TestClient(_app(session, api_docs=True)) as c:
        assert c.get("/openapi.json").status_code == 200
        docs = c.get("/docs")
        assert (
            docs.status_code == 200
            and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
        )
