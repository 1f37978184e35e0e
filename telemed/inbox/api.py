"""Routes of the inbox: the caller's in-app notifications."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from telemed.core.deps import NowDep, SessionDep
from telemed.core.notifications import Notification
from telemed.core.pagination import OffsetQuery
from telemed.identity.deps import CurrentUser
from telemed.inbox import api_events, service
from telemed.inbox.schemas import NotificationPublic, UnreadCount

router = APIRouter(prefix="/api/v1", tags=["notifications"])
router.include_router(api_events.router)


@router.get("/notifications", response_model=list[NotificationPublic])
def my_notifications(
    session: SessionDep,
    user: CurrentUser,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: OffsetQuery = 0,
) -> list[Notification]:
    """The caller's in-app notifications, newest first."""
    return service.inbox(session=session, user=user, unread=unread, limit=limit, offset=offset)


@router.get("/notifications/unread-count", response_model=UnreadCount)
def unread_count(session: SessionDep, user: CurrentUser) -> UnreadCount:
    """How many of the caller's in-app notifications are unread (the menu's badge)."""
    return UnreadCount(unread=service.unread_count(session=session, user_id=user.id))


@router.post("/notifications/{notification_id}/read", response_model=NotificationPublic)
def mark_read(
    notification_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep
) -> Notification:
    return service.mark_read(session=session, user=user, notification_id=notification_id, now=now)


@router.post("/notifications/read-all", status_code=204)
def mark_all_read(session: SessionDep, user: CurrentUser, now: NowDep) -> Response:
    service.mark_all_read(session=session, user=user, now=now)
    return Response(status_code=204)
