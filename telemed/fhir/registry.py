"""The resource handlers this server implements, by resource type.

Every route, and the CapabilityStatement, is generated from `REGISTRY`: a parameter or an
interaction exists in the statement exactly when a handler implements it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from telemed.core.errors import DomainError, Forbidden, Invalid, NotFound
from telemed.core.settings import Settings
from telemed.identity.models import User

Resource = dict[str, Any]


class UnknownParameter(DomainError):
    status, code, title = 400, "unknown_search_parameter", "Unknown search parameter"


@dataclass(frozen=True)
class Context:
    """What a handler may use: the request's session, user, clock, settings, base URL."""

    session: Session
    user: User
    now: datetime
    settings: Settings
    base: str  # e.g. http://host/fhir/R4
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # FHIR SearchParamType: token, reference, date, string
    documentation: str


@dataclass(frozen=True)
class Page:
    """One page of a search: the resources, the total when known, whether more follow."""

    resources: list[Resource]
    total: int | None
    more: bool


Search = Callable[[Context, dict[str, list[str]], int, int], Page]


@dataclass(frozen=True)
class Include:
    """`_include=<value>` (or `_revinclude=<value>`), e.g. `ServiceRequest:patient`: the
    resources it adds to a page, each through its own handler's read (access and audit
    there; one the caller may not see is left out)."""

    value: str
    resolve: Callable[[Context, list[Resource]], list[Resource]]


@dataclass(frozen=True)
class Handler:
    type: str
    documentation: str
    read: Callable[[Context, str], Resource] | None = None
    search: Search | None = None
    params: tuple[SearchParam, ...] = ()
    create: Callable[[Context, Resource], tuple[Resource, bool]] | None = None
    update: Callable[[Context, str, Resource], Resource] | None = None
    patch: Callable[[Context, str, Any], Resource] | None = None
    includes: tuple[Include, ...] = ()
    revincludes: tuple[Include, ...] = ()

    def interactions(self) -> list[str]:
        names = [
            ("read", self.read),
            ("search-type", self.search),
            ("create", self.create),
            ("update", self.update),
            ("patch", self.patch),
        ]
        return [n for n, fn in names if fn is not None]


REGISTRY: dict[str, Handler] = {}


def register(handler: Handler) -> Handler:
    """Add a handler (one per resource type; the same handler again is harmless)."""
    known = REGISTRY.get(handler.type)
    if known is handler:
        return handler
    if known is not None:
        raise RuntimeError(f"two handlers for {handler.type}")
    REGISTRY[handler.type] = handler
    return handler


# ---------------------------------------------------------------- parameter parsing


def ident(value: str, kind: str) -> uuid.UUID:
    """A resource id (or `Kind/id` reference) as a UUID; anything else is not ours: 404."""
    try:
        return uuid.UUID(value.removeprefix(f"{kind}/"))
    except ValueError:
        raise NotFound(f"{kind}/{value} not found") from None


def reference(value: str, kind: str, param: str) -> uuid.UUID:
    """A reference search value (`Kind/id` or `id`) as a UUID; 422 otherwise."""
    try:
        return uuid.UUID(value.removeprefix(f"{kind}/"))
    except ValueError:
        raise Invalid(f"{param} must be {kind}/<id>", field=param) from None


def token(value: str) -> str:
    """A token value without its system (`system|code` -> `code`)."""
    return value.rsplit("|", 1)[-1]


_PREFIXES = ("eq", "ge", "gt", "le", "lt")


def date_range(values: list[str], param: str) -> tuple[datetime | None, datetime | None]:
    """`date=geX&date=ltY` (or a bare date: that day) as [lower, upper) in UTC."""
    from datetime import timedelta

    from telemed.core.clock import SHANGHAI

    lo: datetime | None = None
    hi: datetime | None = None
    for v in values:
        prefix, text = (v[:2], v[2:]) if v[:2] in _PREFIXES else ("eq", v)
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise Invalid(f"bad date {v!r}", field=param) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=SHANGHAI)
        day = len(text) <= 10
        if prefix in ("ge", "gt"):
            lo = when + timedelta(days=1) if prefix == "gt" and day else when
        elif prefix in ("lt", "le"):
            hi = when + timedelta(days=1) if prefix == "le" and day else when
        else:
            lo, hi = when, when + (timedelta(days=1) if day else timedelta(seconds=1))
    return lo, hi


def referenced(
    ctx: Context, resources: list[Resource], kind: str, refs: Callable[[Resource], list[Any]]
) -> list[Resource]:
    """The `kind` resources the page's resources refer to (`refs`: their Reference
    elements), read through `kind`'s handler once each; hidden or missing ones are left out."""
    read = REGISTRY[kind].read
    assert read is not None
    ids = dict.fromkeys(
        str(r.get("reference", "")).removeprefix(f"{kind}/")
        for resource in resources
        for r in refs(resource)
        if str(r.get("reference", "")).startswith(f"{kind}/")
    )
    out = []
    for id in ids:
        try:
            out.append(read(ctx, id))
        except (NotFound, Forbidden):
            continue
    return out


def sliced(rows: list[Any], count: int, offset: int) -> tuple[list[Any], bool]:
    """Rows fetched with limit offset+count+1 from 0: this page, and whether more follow."""
    return rows[offset : offset + count], len(rows) > offset + count
