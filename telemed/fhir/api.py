"""The `/fhir/R4` router: `metadata`, and read/search/create/update/patch routes generated
from the handler registry (`telemed.fhir.registry`), one endpoint per interaction and type
(`INTERACTIONS`); `build_router()` builds it once the handlers are registered."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Invalid, NotFound
from telemed.fhir import PREFIX, bulk, capability
from telemed.fhir.bundle import searchset, summary_count
from telemed.fhir.outcome import FHIR_JSON
from telemed.fhir.registry import REGISTRY, Context, Handler, Include, UnknownParameter
from telemed.identity.deps import CurrentUser

DEFAULT_COUNT = 20
MAX_COUNT = 200
# Result parameters we understand on every search; anything else must be a declared param
# (`_include`/`_revinclude` values must be declared by the type's handler).
_RESULT_PARAMS = {"_count", "_offset", "_format", "_summary", "_totalMethod", "_total"}
_INCLUDES = ("_include", "_revinclude")


def fhir_response(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers or None,
    )


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


# The routes every server has, whatever its handlers (`build_router` adds theirs).
fixed = APIRouter()


@fixed.get("/metadata")
def metadata(request: Request, now: NowDep) -> Response:
    """The CapabilityStatement (no token needed)."""
    return fhir_response(
        capability.capability_statement(base=base_url(request), date=now.date().isoformat())
    )


@fixed.get("/$bulk-publish")
def bulk_publish(request: Request, now: NowDep) -> Response:
    """SMART Scheduling Links manifest (public): Location, Schedule and Slot NDJSON files."""
    return Response(
        json.dumps(bulk.manifest(base=base_url(request), now=now)),
        media_type="application/json",
    )


@fixed.get("/$bulk-publish/{kind}.ndjson")
def bulk_file(kind: str, session: SessionDep, now: NowDep) -> Response:
    """One NDJSON file of the manifest: publicly bookable capacity only."""
    return Response(
        bulk.ndjson(session=session, kind=kind, now=now), media_type="application/fhir+ndjson"
    )


def _context(request: Request, session: Any, user: Any, now: Any, settings: Any) -> Context:
    return Context(
        session=session,
        user=user,
        now=now,
        settings=settings,
        base=base_url(request),
        headers={k.lower(): v for k, v in request.headers.items()},
    )


@dataclass(frozen=True)
class SearchRequest:
    params: dict[str, list[str]]  # the declared search parameters
    count: int  # 0: the total only (`_summary=count` or `_count=0`)
    offset: int
    includes: list[Include]  # asked for, in order (`_include` then `_revinclude`)
    include_params: dict[str, list[str]]  # as asked, for the paging links


def _search_params(request: Request, h: Handler) -> SearchRequest:
    declared = {p.name for p in h.params}
    params: dict[str, list[str]] = {}
    wanted: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key in _INCLUDES:
            wanted.setdefault(key, []).append(value)
            continue
        if key in _RESULT_PARAMS:
            continue
        if key not in declared:
            raise UnknownParameter(
                f"{h.type} has no search parameter {key!r}; supported: "
                + ", ".join(sorted(declared | {"_count", "_offset"}))
            )
        params.setdefault(key, []).append(value)
    count = _int(request.query_params.get("_count"), "_count", DEFAULT_COUNT)
    offset = _int(request.query_params.get("_offset"), "_offset", 0)
    if not 0 <= count <= MAX_COUNT:
        raise Invalid(f"_count must be 0 to {MAX_COUNT}", field="_count")
    if not 0 <= offset <= 2**31 - 1:
        raise Invalid("_offset must not be negative", field="_offset")
    summary = request.query_params.get("_summary")
    if summary not in (None, "count", "false"):
        raise Invalid("_summary must be count or false", field="_summary")
    if summary == "count":
        count = 0
    known = {"_include": h.includes, "_revinclude": h.revincludes}
    includes: list[Include] = []
    for key in _INCLUDES:
        by_value = {i.value: i for i in known[key]}
        for value in wanted.get(key, []):
            if value not in by_value:
                raise UnknownParameter(
                    f"{h.type} has no {key} {value!r}; supported: "
                    + (", ".join(sorted(by_value)) or "none")
                )
            includes.append(by_value[value])
    return SearchRequest(
        params=params, count=count, offset=offset, includes=includes, include_params=wanted
    )


def _total(ctx: Context, search: Any, q: SearchRequest) -> int:
    """The number of matches: the search's own count query, run for a one-resource page
    inside a savepoint rolled back afterwards (nothing is shown, so no read is recorded)."""
    savepoint = ctx.session.begin_nested()
    try:
        page = search(ctx, q.params, 1, 0)
    finally:
        savepoint.rollback()
    assert page.total is not None, "every search counts its matches"
    return int(page.total)


def _int(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise Invalid(f"{name} must be an integer", field=name) from None


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise Invalid("the body is not JSON", code="invalid_json") from None


def request_context(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
) -> Context:
    """What a handler may use (the caller authenticated first)."""
    return _context(request, session, user, now, settings)


ContextDep = Annotated[Context, Depends(request_context)]


def _typed_body(kind: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("resourceType") != kind:
        raise Invalid(f"the body must be a {kind}", field="resourceType")
    return body


def _search(h: Handler, ctx: Context, request: Request, id: str, body: Any) -> Response:
    assert h.search is not None
    search = h.search
    q = _search_params(request, h)
    if q.count == 0:
        total = _total(ctx, search, q)
        return fhir_response(
            summary_count(base=ctx.base, kind=h.type, params=q.params, total=total)
        )
    page = search(ctx, q.params, q.count, q.offset)
    included: list[dict[str, Any]] = []
    for inc in q.includes:
        seen = {(r["resourceType"], r["id"]) for r in page.resources + included}
        included += [
            r for r in inc.resolve(ctx, page.resources) if (r["resourceType"], r["id"]) not in seen
        ]
    return fhir_response(
        searchset(
            base=ctx.base,
            kind=h.type,
            params={**q.params, **q.include_params},
            count=q.count,
            offset=q.offset,
            page=page,
            included=included,
        )
    )


def _read(h: Handler, ctx: Context, request: Request, id: str, body: Any) -> Response:
    assert h.read is not None
    return fhir_response(h.read(ctx, id))


def _create(h: Handler, ctx: Context, request: Request, id: str, body: Any) -> Response:
    assert h.create is not None
    body = _typed_body(h.type, body)
    if request.query_params and "if-none-exist" not in ctx.headers:
        # conditional create as some clients send it (fhirpy: POST ?identifier=...)
        ctx.headers["if-none-exist"] = str(request.query_params)
    resource, created = h.create(ctx, body)
    return fhir_response(
        resource, 201 if created else 200, Location=f"{ctx.base}/{h.type}/{resource['id']}"
    )


def _update(h: Handler, ctx: Context, request: Request, id: str, body: Any) -> Response:
    assert h.update is not None
    body = _typed_body(h.type, body)
    if body.get("id") not in (None, id):
        raise Invalid("the body's id differs from the URL's", field="id")
    return fhir_response(h.update(ctx, id, body))


def _patch(h: Handler, ctx: Context, request: Request, id: str, body: Any) -> Response:
    assert h.patch is not None
    return fhir_response(h.patch(ctx, id, body))


Perform = Callable[[Handler, Context, Request, str, Any], Response]


@dataclass(frozen=True)
class Interaction:
    """One REST interaction a handler may implement (`name` is its field on `Handler`)."""

    name: str  # search | read | create | update | patch
    method: str
    item: bool  # on /{type}/{id} rather than /{type}
    reads_body: bool
    perform: Perform  # runs in a worker thread


INTERACTIONS = (
    Interaction("search", "GET", item=False, reads_body=False, perform=_search),
    Interaction("read", "GET", item=True, reads_body=False, perform=_read),
    Interaction("create", "POST", item=False, reads_body=True, perform=_create),
    Interaction("update", "PUT", item=True, reads_body=True, perform=_update),
    Interaction("patch", "PATCH", item=True, reads_body=True, perform=_patch),
)


def _endpoint(h: Handler, i: Interaction) -> Callable[..., Awaitable[Response]]:
    async def perform(request: Request, ctx: Context, id: str) -> Response:
        body = await _body(request) if i.reads_body else None
        return await anyio.to_thread.run_sync(i.perform, h, ctx, request, id, body)

    async def on_item(id: str, request: Request, ctx: ContextDep) -> Response:
        return await perform(request, ctx, id)

    async def on_type(request: Request, ctx: ContextDep) -> Response:
        return await perform(request, ctx, "")

    return on_item if i.item else on_type


def _add_routes(router: APIRouter, h: Handler) -> None:
    for i in INTERACTIONS:
        if getattr(h, i.name) is None:
            continue
        router.add_api_route(
            f"/{h.type}/{{id}}" if i.item else f"/{h.type}",
            _endpoint(h, i),
            methods=[i.method],
            name=f"{i.name} {h.type}",
            summary=f"{i.name.capitalize()} {h.type}",
        )


def unsupported(path: str) -> Response:
    """Anything else under /fhir/R4: 404 not_supported (as an OperationOutcome)."""
    raise NotFound(
        f"{PREFIX}/{path} is not supported (see {PREFIX}/metadata)", code="not_supported"
    )


def build_router() -> APIRouter:
    """`/fhir/R4`: metadata and bulk publish, the routes of every registered handler (see
    `telemed.fhir.hooks`), then 404 not_supported for anything else."""
    router = APIRouter(prefix=PREFIX, tags=["fhir"])
    router.include_router(fixed)
    for handler in REGISTRY.values():
        _add_routes(router, handler)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):  # one operation id each, stable
        router.add_api_route(
            "/{path:path}",
            unsupported,
            methods=[method],
            operation_id=f"fhir_unsupported_{method.lower()}",
        )
    return router
