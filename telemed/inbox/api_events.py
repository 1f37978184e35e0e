"""The push channel's route: `GET /api/v1/events`, the caller's Server-Sent Events.

The browser reads it with `fetch()` and a ReadableStream, sending the bearer token in the
`Authorization` header as every other request does (an EventSource cannot send headers;
a token in the URL would land in logs). The route holds no database session while the
stream is open (no `SessionDep`): telemed.inbox.events opens short ones as it goes.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from telemed.core.deps import SettingsDep
from telemed.core.errors import Unauthorized
from telemed.identity.deps import TokenDep
from telemed.inbox import events

router = APIRouter(tags=["notifications"])  # mounted under /api/v1 by telemed.inbox.api

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "the event stream"}},
)
async def event_stream(
    request: Request,
    token: TokenDep,
    settings: SettingsDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """The caller's live events: `notification`, `unread`, `worklist`, `end` (docs/api.md)."""
    if not token:
        raise Unauthorized("a bearer token is required")
    user = await anyio.to_thread.run_sync(events.authenticate, token)
    request.state.user = user
    return StreamingResponse(
        events.stream(
            token=token,
            user=user,
            last_event_id=last_event_id,
            settings=settings.live,
            database_url=settings.database_url,
        ),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )
