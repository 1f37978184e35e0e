"""Expiry: an order not paid by `expires_at` (settings.payments.order_ttl_minutes after
creation) is closed at its provider and here, and what it held is released (the unpaid
booking is cancelled, its place goes back to the slot). Done by the periodic job and
lazily whenever the order is read."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from telemed.payments.models import OPEN_STATES, PaymentOrder
from telemed.payments.notices import change
from telemed.payments.refunds import close_at_provider
from telemed.payments.subjects import kind_of

__all__ = ["expire_due", "expire_if_due"]


def expire_if_due(*, session: Session, order: PaymentOrder, now: datetime) -> bool:
    """Close `order` (locked by the caller) when it is open past its expiry; True if closed."""
    if order.state not in OPEN_STATES or order.expires_at > now:
        return False
    if close_at_provider(session, order, now=now):
        return False  # paid after all
    change(session, order, "close", now=now, detail={"reason": "expired"})
    order.closed_reason = "expired"
    kind_of(order.subject_type).release(session=session, subject_id=order.subject_id, now=now)
    return True


def expire_due(*, session: Session, now: datetime, limit: int = 200) -> int:
    """Close every open order past its expiry (the job); return how many were closed."""
    orders = (
        session.execute(
            select(PaymentOrder)
            .where(col(PaymentOrder.state).in_(OPEN_STATES), col(PaymentOrder.expires_at) <= now)
            .order_by(col(PaymentOrder.expires_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    return sum(expire_if_due(session=session, order=o, now=now) for o in orders)
