"""Searchset Bundles with paging links (`_count`, `_offset`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fhir.resources.R4B.bundle import Bundle

from telemed.fhir.registry import Page


def _url(base: str, kind: str, params: dict[str, list[str]], count: int, offset: int) -> str:
    pairs = [(k, v) for k, values in params.items() for v in values]
    pairs += [("_count", str(count)), ("_offset", str(offset))]
    return f"{base}/{kind}?{urlencode(pairs)}"


def searchset(
    *,
    base: str,
    kind: str,
    params: dict[str, list[str]],
    count: int,
    offset: int,
    page: Page,
    included: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The page as a validated searchset Bundle: `self`, `next` (when more follow) and
    `previous` links carry the same parameters (`_include`/`_revinclude` among them); the
    included resources follow the matches with search mode `include`."""
    links = [{"relation": "self", "url": _url(base, kind, params, count, offset)}]
    if page.more:
        links.append({"relation": "next", "url": _url(base, kind, params, count, offset + count)})
    if offset > 0:
        links.append(
            {"relation": "previous", "url": _url(base, kind, params, count, max(0, offset - count))}
        )
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in page.resources
        ]
        + [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "include"},
            }
            for r in included or []
        ],
    }
    if page.total is not None:
        body["total"] = page.total
    if not body["entry"]:
        del body["entry"]
    return Bundle.model_validate(body).model_dump(mode="json", exclude_none=True)


def summary_count(
    *, base: str, kind: str, params: dict[str, list[str]], total: int
) -> dict[str, Any]:
    """`_summary=count` (or `_count=0`): a searchset Bundle with the total only."""
    pairs = [(k, v) for k, values in params.items() for v in values] + [("_summary", "count")]
    body = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": f"{base}/{kind}?{urlencode(pairs)}"}],
    }
    return Bundle.model_validate(body).model_dump(mode="json", exclude_none=True)
