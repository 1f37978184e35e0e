"""Append-only audit log of reads and changes of patient-related objects.

Rows are written in the same transaction as the action they describe. On
PostgreSQL a trigger (see the migration) refuses UPDATE and DELETE.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel

from telemed.core import clock
from telemed.core.db import id_field, utc_field
from telemed.core.logging import request_id_var


class AuditEvent(SQLModel, table=True):
    """Who read or changed which object, when, from where."""

    __tablename__ = "audit_event"

    id: uuid.UUID = id_field()
    at: datetime = utc_field(index=True)
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    actor_role: str | None = None
    action: str = Field(max_length=32)  # read, create, update, delete, login, ...
    object_type: str = Field(max_length=64, index=True)
    object_id: str = Field(max_length=128, index=True)
    patient_id: uuid.UUID | None = Field(default=None, index=True)
    ip: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AuditContext:
    """The actor and origin of the current request, passed to services."""

    def __init__(self, *, actor_id: uuid.UUID | None, actor_role: str | None, ip: str | None):
        self.actor_id = actor_id
        self.actor_role = actor_role
        self.ip = ip


def record(
    *,
    session: Session,
    actor_id: uuid.UUID | None,
    actor_role: str | None,
    action: str,
    object_type: str,
    object_id: str | uuid.UUID,
    patient_id: uuid.UUID | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one audit row in the caller's transaction."""
    event = AuditEvent(
        at=at or clock.now(),
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        patient_id=patient_id,
        ip=ip,
        request_id=request_id_var.get(),
        detail=detail or {},
    )
    session.add(event)
    return event
