"""Refunds: the own share of a paid order given back through the provider it was paid
with, when its subject is cancelled (a booking) — paid → refunding → refunded. A refund
the provider refuses or cannot take stays visible as `refund_failed` and is retried by
the periodic job with the same out_refund_no (providers treat a repeat as the same refund).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from telemed.core.errors import DomainError
from telemed.payments import providers
from telemed.payments.models import STANDING_STATES, PaymentOrder, PaymentRefund
from telemed.payments.notices import apply_notice, change, mark_applied, settle_refund
from telemed.payments.provider import Notice, ProviderError

__all__ = ["close_at_provider", "on_subject_cancelled", "refund_order", "retry_failed_refunds"]
log = logging.getLogger(__name__)


def refund_order(
    *, session: Session, order: PaymentOrder, reason: str, now: datetime, actor_id: uuid.UUID | None
) -> PaymentRefund:
    """Refund a paid order (locked by the caller) in full."""
    change(session, order, "refund", now=now, actor_id=actor_id, detail={"reason": reason})
    n = session.execute(select(PaymentRefund.id).where(PaymentRefund.order_id == order.id)).all()
    refund = PaymentRefund(
        order_id=order.id,
        refund_no=f"R{order.order_no}{len(n) + 1:02d}",
        amount_cents=order.own_cents - order.refunded_cents,
        reason=reason[:80],
        state="processing",
        requested_at=now,
    )
    session.add(refund)
    session.flush()
    _ask(session, order, refund, now=now)
    return refund


def _ask(session: Session, order: PaymentOrder, refund: PaymentRefund, *, now: datetime) -> None:
    """Ask the provider for the refund and apply its answer."""
    if order.provider is None or refund.amount_cents == 0:  # nothing was paid through one
        settle_refund(session, order, refund, amount_cents=refund.amount_cents, now=now)
        return
    try:
        answer = providers.get(order.provider).refund(
            order_no=order.order_no,
            refund_no=refund.refund_no,
            amount_cents=refund.amount_cents,
            total_cents=order.own_cents,
            reason=refund.reason,
        )
    except (ProviderError, DomainError) as exc:  # refused, unreachable, or not built
        refund.state, refund.message = "failed", exc.code[:200]
        change(session, order, "refund_fail", now=now, detail={"code": exc.code})
        return
    refund.provider_ref = answer.provider_ref
    if answer.state == "succeeded":
        settle_refund(session, order, refund, amount_cents=refund.amount_cents, now=now)
        notice = Notice(
            order_no=order.order_no,
            kind="refunded",
            amount_cents=refund.amount_cents,
            at=now,
            refund_no=refund.refund_no,
        )
        # a later notification of this refund is then a repeat
        mark_applied(session, order, notice, provider=order.provider, source="refund", now=now)
    elif answer.state == "failed":
        refund.state, refund.message = "failed", answer.message[:200]
        change(session, order, "refund_fail", now=now, detail={"message": answer.message[:200]})


def retry_failed_refunds(*, session: Session, now: datetime) -> int:
    """Ask again for every failed refund (the job); return how many were asked."""
    ids = (
        session.execute(
            select(PaymentOrder.id)
            .where(PaymentOrder.state == "refund_failed")
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for order_id in ids:
        order = session.get(PaymentOrder, order_id)
        assert order is not None
        refund = (
            session.execute(
                select(PaymentRefund)
                .where(PaymentRefund.order_id == order.id, PaymentRefund.state == "failed")
                .order_by(col(PaymentRefund.requested_at).desc())
            )
            .scalars()
            .first()
        )
        if refund is None:
            continue
        change(session, order, "retry_refund", now=now)
        refund.state, refund.attempts = "processing", refund.attempts + 1
        _ask(session, order, refund, now=now)
    return len(ids)


def on_subject_cancelled(
    *,
    session: Session,
    subject_type: str,
    subject_id: uuid.UUID,
    now: datetime,
    by_id: uuid.UUID | None,
) -> PaymentOrder | None:
    """The subject was cancelled: close its unpaid order, refund its paid one."""
    order = session.execute(
        select(PaymentOrder)
        .where(
            PaymentOrder.subject_type == subject_type,
            PaymentOrder.subject_id == subject_id,
            col(PaymentOrder.state).in_(STANDING_STATES),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if order is None:
        return None
    if order.state in ("created", "paying") and not close_at_provider(session, order, now=now):
        change(session, order, "close", now=now, actor_id=by_id, detail={"reason": "cancelled"})
        order.closed_reason = "subject_cancelled"
    if order.state == "paid":
        refund_order(session=session, order=order, reason="cancelled", now=now, actor_id=by_id)
    return order


def close_at_provider(session: Session, order: PaymentOrder, *, now: datetime) -> bool:
    """Close an unpaid order at its provider before we close it here. True when it turned
    out to be paid there (the payment is then applied: the caller refunds or keeps it)."""
    if order.provider is None:
        return False
    try:
        provider = providers.get(order.provider)
        provider.close(order.order_no)
        return False
    except DomainError as exc:
        log.warning("closing %s at %s failed: %s", order.order_no, order.provider, exc.code)
        return False
    except ProviderError as exc:
        if exc.code != "order_paid":
            log.warning("closing %s at %s failed: %s", order.order_no, order.provider, exc.code)
            return False
    notice = provider.query(order.order_no)
    if notice is None or notice.kind != "paid":
        return False
    apply_notice(session=session, provider=order.provider, notice=notice, source="query", now=now)
    return True
