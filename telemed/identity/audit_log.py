"""The admin's view of the audit log: filtered pages with the patients of every row."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlmodel import Session, col, select

from telemed.core.audit import AuditEvent, AuditEventPatient
from telemed.core.pagination import PageParams, paginate
from telemed.identity.schemas import AuditEventPublic


def events(
    *,
    session: Session,
    page: PageParams,
    patient_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
) -> tuple[list[AuditEventPublic], int]:
    """Rows newest first; `patient_id` matches every row naming that patient (lists too)."""
    stmt = select(AuditEvent).order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    if patient_id:
        named = select(AuditEventPatient.event_id).where(AuditEventPatient.patient_id == patient_id)
        stmt = stmt.where(col(AuditEvent.id).in_(named))
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    rows, total = paginate(session, stmt, page)
    patients: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if rows:
        links = session.execute(
            select(AuditEventPatient).where(
                col(AuditEventPatient.event_id).in_([r.id for r in rows])
            )
        ).scalars()
        for link in links:
            patients[link.event_id].append(link.patient_id)
    out = []
    for r in rows:
        item = AuditEventPublic.model_validate(r, from_attributes=True)
        item.patient_ids = sorted(patients[r.id], key=str)
        out.append(item)
    return out, total
