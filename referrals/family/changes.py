"""The audit row of every change of a family-doctor object (a contract, a home sick bed, a
home visit), naming its resident: one helper, so no change skips it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from referrals.family.models import Contract, HomeSickBed, HomeVisitRequest
from telemed.core import audit
from telemed.identity.models import User

OBJECT_TYPES: dict[type, str] = {
    Contract: "contract",
    HomeSickBed: "home_bed",
    HomeVisitRequest: "home_visit",
}


def record_change(
    session: Session,
    by: User | None,
    action: str,
    obj: Contract | HomeSickBed | HomeVisitRequest,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit `action` on `obj` by `by` (None: the system), with the object's new status."""
    audit.record(
        session=session,
        by=by,
        actor_role=None if by else "system",
        action=action,
        object_type=OBJECT_TYPES[type(obj)],
        object_id=obj.id,
        patient_id=obj.patient_id,
        detail={"status": obj.status, **(detail or {})},
        at=now,
    )
