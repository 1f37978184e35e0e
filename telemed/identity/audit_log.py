"""The admin's view of the audit log: filtered pages with the actor and patients of every row."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from telemed.core.audit import AuditEvent, AuditEventPatient
from telemed.core.errors import Invalid
from telemed.core.pagination import PageParams
from telemed.identity.models import User
from telemed.identity.schemas import AuditActor, AuditEventPublic


def _utc(value: datetime | None) -> datetime | None:
    # A time without a zone is read as UTC (the log stores UTC).
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def events(
    *,
    session: Session,
    page: PageParams,
    patient_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditEventPublic], int]:
    """Rows newest first; `patient_id` matches every row naming that patient (lists too);
    `actor` a part of the actor's name or user name; `since` inclusive, `until` exclusive."""
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and until <= since:
        raise Invalid("until must be after since", field="until")
    stmt = (
        select(AuditEvent, User)
        .outerjoin(User, col(User.id) == col(AuditEvent.actor_id))
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    )
    if patient_id:
        named = select(AuditEventPatient.event_id).where(AuditEventPatient.patient_id == patient_id)
        stmt = stmt.where(col(AuditEvent.id).in_(named))
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if actor and actor.strip():
        pattern = _like(actor.strip())
        stmt = stmt.where(
            or_(
                col(User.full_name).ilike(pattern, escape="\\"),
                col(User.username).ilike(pattern, escape="\\"),
            )
        )
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if since is not None:
        stmt = stmt.where(col(AuditEvent.at) >= since)
    if until is not None:
        stmt = stmt.where(col(AuditEvent.at) < until)
    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.execute(stmt.limit(page.limit).offset(page.offset)).all()
    patients: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if rows:
        links = session.execute(
            select(AuditEventPatient).where(
                col(AuditEventPatient.event_id).in_([event.id for event, _ in rows])
            )
        ).scalars()
        for link in links:
            patients[link.event_id].append(link.patient_id)
    names = _institution_names(session=session, users=[u for _, u in rows if u is not None])
    out = []
    for event, user in rows:
        item = AuditEventPublic.model_validate(event, from_attributes=True)
        item.patient_ids = sorted(patients[event.id], key=str)
        if user is not None:
            zh, en = (
                names.get(user.institution_id, (None, None))
                if user.institution_id
                else (None, None)
            )
            item.actor = AuditActor(
                id=user.id,
                username=user.username,
                full_name=user.full_name,
                role=user.role,
                institution_id=user.institution_id,
                institution_name_zh=zh,
                institution_name_en=en,
            )
        out.append(item)
    return out, int(total.scalar_one())


def _institution_names(*, session: Session, users: list[User]) -> dict[uuid.UUID, tuple[str, str]]:
    # One query for the page's institutions, through the network domain's service.
    from telemed.network import service as network_service

    ids = {u.institution_id for u in users if u.institution_id is not None}
    return network_service.institution_names(session=session, institution_ids=ids)
