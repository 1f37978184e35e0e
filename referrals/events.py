"""A referral's change log: the row lock, the authorization of an action, and the event
(with its audit row) every change records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from referrals import policy
from referrals.access import visible_referral
from referrals.models import Referral, ReferralEvent
from telemed.core import audit
from telemed.core.errors import Forbidden, NotFound
from telemed.identity.models import User


def record_event(
    session: Session,
    r: Referral,
    action: str,
    src: str,
    dst: str,
    by: User | None,
    now: datetime,
    reason: str | None,
    data: dict[str, Any],
) -> ReferralEvent:
    ev = ReferralEvent(
        referral_id=r.id,
        action=action,
        from_status=src,
        to_status=dst,
        by_id=by.id if by else None,
        at=now,
        reason=reason,
        data=data,
    )
    session.add(ev)
    audit.record(  # every change of a referral is audited, naming its patient
        session=session,
        by=by,
        actor_role=None if by else "system",
        action=action,
        object_type="referral",
        object_id=r.id,
        patient_id=r.patient_id,
        detail={"from": src, "to": dst, **({"reason": reason} if reason else {})},
        at=now,
    )
    return ev


def lock_referral(session: Session, referral_id: uuid.UUID) -> Referral:
    r = session.execute(
        select(Referral)
        .where(Referral.id == referral_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if r is None:
        raise NotFound(f"referral {referral_id} not found")
    return r


def authorize(session: Session, user: User, r: Referral, action: str) -> None:
    visible_referral(session, user, r, r.id)
    allowed = policy.PARTIES[action]
    if not policy.parties_of(user, r) & set(allowed):
        raise Forbidden(
            f"{action!r} is for the {' or '.join(allowed)} of this referral",
            code="not_your_part",
        )


def events_of(*, session: Session, referral_id: uuid.UUID) -> list[ReferralEvent]:
    """The referral's events in the order they happened."""
    return list(
        session.execute(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral_id)
            .order_by(col(ReferralEvent.at), col(ReferralEvent.id))
        ).scalars()
    )
