"""Admin routes of background work: the outbox's dead letters, and putting one back."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlmodel import col, select

from telemed.core import audit, notifications
from telemed.core.db import get_or_404
from telemed.core.deps import NowDep, SessionDep
from telemed.core.errors import Conflict
from telemed.core.notifications import Notification
from telemed.core.pagination import Page, PageDep, paginate
from telemed.identity.deps import AdminUser, ClientIP
from telemed.jobs.schemas import OutboxItemPublic

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/outbox", response_model=Page[OutboxItemPublic])
def list_outbox(
    admin: AdminUser,
    session: SessionDep,
    page: PageDep,
    ip: ClientIP,
    now: NowDep,
    status: Annotated[Literal["dead", "pending"], Query()] = "dead",
) -> Page[OutboxItemPublic]:
    """Messages that could not be delivered (`dead`) or still wait (`pending`); audited."""
    stmt = (
        select(Notification)
        .where(Notification.status == status, Notification.channel != "in_app")
        .order_by(col(Notification.created_at).desc(), col(Notification.id))
    )
    rows, total = paginate(session, stmt, page)
    audit.record(
        session=session,
        actor_id=admin.id,
        actor_role=admin.role,
        action="read",
        object_type="notification_outbox",
        object_id=status,
        ip=ip,
        at=now,
        detail={"ids": [str(r.id) for r in rows]},
    )
    return Page(
        items=[OutboxItemPublic.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/outbox/{notification_id}/retry", response_model=OutboxItemPublic)
def retry_dead_letter(
    notification_id: uuid.UUID, admin: AdminUser, session: SessionDep, ip: ClientIP, now: NowDep
) -> OutboxItemPublic:
    """Queue a dead letter again (after its cause was fixed); audited."""
    row = get_or_404(session, Notification, notification_id, "notification")
    if row.status != notifications.DEAD:
        raise Conflict("only a dead letter can be retried", code="not_dead")
    notifications.retry_dead(session=session, notification=row, now=now)
    audit.record(
        session=session,
        actor_id=admin.id,
        actor_role=admin.role,
        action="retry",
        object_type="notification",
        object_id=row.id,
        ip=ip,
        at=now,
        detail={"last_error": row.last_error},
    )
    return OutboxItemPublic.model_validate(row, from_attributes=True)
