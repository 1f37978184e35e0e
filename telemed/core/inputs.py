"""Input guards that apply to every route, before any handler runs."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from telemed.core.errors import problem


class RejectNul:
    """422 for a NUL character in the path or the query string.

    No text column can hold one (PostgreSQL refuses it), and it must never reach an archive
    URL; refusing it here answers every route alike instead of each failing in its own way.
    NUL inside JSON bodies is caught where the database refuses it (422 `invalid_value`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
                response = problem(
                    status=422,
                    code="invalid",
                    title="Invalid data",
                    detail="NUL characters are not allowed in the path or the query",
                    instance=scope.get("path", "").replace("\x00", ""),
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
