"""Errors as RFC 9457 problem details.

    DomainError                 base; carries status, stable `code`, title, detail
    ├── NotFound                404 not_found
    ├── Forbidden               403 forbidden
    ├── Unauthorized            401 unauthorized
    ├── Conflict                409 conflict
    │   └── InvalidTransition   409 invalid_transition (carries the current state)
    ├── Invalid                 422 invalid (optionally names a field)
    ├── Unavailable             503 unavailable (with Retry-After)
    └── throttle.Throttled      429 throttled (carries retry_after, sent as Retry-After)

A database that cannot serve (lost connection, restart, exhausted pool, locked SQLite
file: `telemed.core.outage.database_unavailable`) is 503 `database_unavailable` with
Retry-After; a value the database refuses (out of range, NUL in text: SQLSTATE class 22)
is 422 `invalid_value`; any other unexpected error is 500 `internal_error`.

Every error leaving the API is `application/problem+json` with `type`, `title`,
`status`, `detail`, `code`, `instance` and, where it applies, `errors` or extra members.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from telemed.core.outage import DATABASE_RETRY_AFTER, database_unavailable
from telemed.core.security_headers import security_headers

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://telemed.example/problems/"
log = logging.getLogger("telemed.errors")


class DomainError(Exception):
    """A refusal the API reports as a problem."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Not authenticated"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class InvalidTransition(Conflict):
    code, title = "invalid_transition", "Transition not allowed"

    def __init__(self, *, entity: str, current: str, action: str) -> None:
        super().__init__(
            f"{entity} is {current!r}; {action!r} is not allowed from that state",
            current_state=current,
            action=action,
        )


class Invalid(DomainError):
    status, code, title = 422, "invalid", "Invalid data"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        if field:
            self.extra.setdefault("errors", [{"field": field, "message": detail}])


class Unavailable(DomainError):
    status, code, title = 503, "unavailable", "Service unavailable"
    retry_after = 10  # seconds, sent as Retry-After


# Another rendering of the same problem for a path prefix (e.g. FHIR's OperationOutcome):
# (prefix, render(problem_response) -> response). Registered by the app, never by core.
ProblemRenderer = Callable[[JSONResponse], Response]
_RENDERERS: list[tuple[str, ProblemRenderer]] = []


def register_problem_renderer(prefix: str, render: ProblemRenderer) -> None:
    """Render problems of requests under `prefix` with `render` (the problem body, status and
    headers are kept: only the representation changes)."""
    if all(p != prefix for p, _ in _RENDERERS):
        _RENDERERS.append((prefix, render))


def _rendered(request: Request, response: JSONResponse) -> Response:
    for prefix, render in _RENDERERS:
        if request.url.path.startswith(prefix):
            return render(response)
    return response


def problem(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_problem(exc: DomainError, path: str) -> JSONResponse:
    """The problem+json answer of a DomainError (also sent by ASGI middleware that refuses
    a request before routing, e.g. `telemed.core.admission`)."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    if "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    elif exc.status == 503:
        headers["Retry-After"] = str(getattr(exc, "retry_after", DATABASE_RETRY_AFTER))
    return problem(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=path,
        headers=headers,
        **exc.extra,
    )


_HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Not authenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("invalid", "Invalid data"),
    429: ("too_many_requests", "Too many requests"),
    503: ("unavailable", "Service unavailable"),
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to problem+json."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_name(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return problem(
            status=422,
            code="invalid",
            title="Invalid data",
            detail=detail,
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _HTTP_CODES.get(exc.status_code, ("error", "Error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        return problem(
            status=exc.status_code,
            code=code,
            title=title,
            detail=detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        if isinstance(exc, DataError) and not database_unavailable(exc):
            # A value the database cannot take (out of range, NUL in text) that slipped
            # past validation: still the client's data, so 422, never 500.
            log.warning("value refused by the database: %s", exc.orig)
            return problem(
                status=422,
                code="invalid_value",
                title="Invalid data",
                detail=f"a value cannot be stored or compared: {str(exc.orig)[:200]}",
                instance=request.url.path,
            )
        if not database_unavailable(exc):
            return _internal_error(request)
        log.warning("database unavailable: %s", exc, extra={"path": request.url.path})
        return database_unavailable_problem(request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _internal_error(request)

    for kind, handler in list(app.exception_handlers.items()):
        app.exception_handlers[kind] = _rendering(handler)


def _rendering(handler: Any) -> Any:
    """The handler, its problem rendered as registered for the request's path."""

    async def _handle(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        return _rendered(request, response) if isinstance(response, JSONResponse) else response

    return _handle


def database_unavailable_problem(instance: str | None = None) -> JSONResponse:
    """503 `database_unavailable` with Retry-After."""
    return problem(
        status=503,
        code="database_unavailable",
        title="Service unavailable",
        detail="the database is unavailable or busy; retry after the given seconds",
        instance=instance,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


def _internal_error(request: Request) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    # Answered by the outermost middleware, past the security headers one: add them here.
    config = getattr(request.app.state, "security_headers", None)
    return problem(
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="an unexpected error occurred; it has been logged",
        instance=request.url.path,
        headers=security_headers(request.scope, **config) if config else None,
    )
