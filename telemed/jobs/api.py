"""Admin routes of background work: the outbox's dead letters, and putting one back."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlmodel import Session, col, select

from telemed.core import audit, notifications
from telemed.core.db import get_or_404
from telemed.core.deps import NowDep, SessionDep
from telemed.core.errors import Conflict
from telemed.core.notifications import Notification
from telemed.core.pagination import Page, PageDep, paginate
from telemed.identity.deps import AdminUser, ClientIP
from telemed.identity.service import mask_phone
from telemed.jobs import sms_params
from telemed.jobs.schemas import OutboxItemPublic

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/outbox", response_model=Page[OutboxItemPublic])
def list_outbox(
    admin: AdminUser,
    session: SessionDep,
    page: PageDep,
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
    items = [_item(session, r) for r in rows]
    audit.read(  # the patients whose (masked) numbers were shown
        session,
        admin,
        object_type="notification_outbox",
        object_ids=[i.id for i in items],
        patient_ids=[i.patient_id for i in items],
        what=status,
        at=now,
    )
    return Page(
        items=items,
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
    item = _item(session, row)
    audit.record(
        session=session,
        actor_id=admin.id,
        actor_role=admin.role,
        action="retry",
        object_type="notification",
        object_id=row.id,
        patient_id=item.patient_id,
        ip=ip,
        at=now,
        detail={"last_error": row.last_error},
    )
    return item


def _item(session: Session, row: Notification) -> OutboxItemPublic:
    patient = sms_params.recipient(session, row) if row.channel == "sms" else None
    return OutboxItemPublic.model_validate(
        {
            **row.model_dump(),
            "patient_id": patient.id if patient else row.patient_id,
            "phone_masked": mask_phone(patient.phone) if patient else None,
        }
    )
