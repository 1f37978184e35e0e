"""Admin routes of retention: legal hold on a recording (kept past its retention)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from telemed.core.deps import NowDep, SessionDep
from telemed.identity.deps import AdminUser, ClientIP
from telemed.video import retention
from telemed.video.models import Recording

router = APIRouter(prefix="/api/v1/recordings", tags=["video"])


class LegalHoldCreate(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class LegalHoldPublic(BaseModel):
    recording_id: uuid.UUID
    retention_until: datetime
    legal_hold_at: datetime | None
    legal_hold_by_id: uuid.UUID | None
    legal_hold_reason: str | None


def _public(rec: Recording) -> LegalHoldPublic:
    return LegalHoldPublic(
        recording_id=rec.id,
        retention_until=rec.retention_until,
        legal_hold_at=rec.legal_hold_at,
        legal_hold_by_id=rec.legal_hold_by_id,
        legal_hold_reason=rec.legal_hold_reason,
    )


@router.put("/{recording_id}/legal-hold", response_model=LegalHoldPublic)
def place_legal_hold(
    recording_id: uuid.UUID,
    body: LegalHoldCreate,
    admin: AdminUser,
    session: SessionDep,
    ip: ClientIP,
    now: NowDep,
) -> LegalHoldPublic:
    """Keep a recording past its retention (who, when, why recorded); audited."""
    rec = retention.place_legal_hold(
        session=session, recording_id=recording_id, by=admin, reason=body.reason, ip=ip, now=now
    )
    return _public(rec)


@router.delete("/{recording_id}/legal-hold", response_model=LegalHoldPublic)
def release_legal_hold(
    recording_id: uuid.UUID, admin: AdminUser, session: SessionDep, ip: ClientIP, now: NowDep
) -> LegalHoldPublic:
    """End the hold: the recording follows its retention again; audited."""
    rec = retention.release_legal_hold(
        session=session, recording_id=recording_id, by=admin, ip=ip, now=now
    )
    return _public(rec)
