"""Applying what a provider reports (a verified notification, or the answer to a query)
to an order: once, under the order's row lock.

The order is locked (`SELECT … FOR UPDATE`), then the (order, kind, refund) pair is looked
up in `payment_applied_notice`: a repeat is acknowledged and changes nothing, so a
provider's retries and two notifications arriving at once apply once (the unique
constraint backs the lock). A payment whose amount is not the order's own share is
refused (409 `amount_mismatch`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from sqlmodel import Session, select

from telemed.core import audit
from telemed.core.errors import Conflict, NotFound
from telemed.payments.models import AppliedNotice, PaymentOrder, PaymentRefund
from telemed.payments.provider import Notice
from telemed.payments.states import ORDER
from telemed.payments.subjects import kind_of

__all__ = ["Outcome", "apply_notice", "change", "lock_by_no", "mark_applied", "settle_refund"]

Outcome = Literal["applied", "duplicate"]


def lock_by_no(session: Session, order_no: str) -> PaymentOrder:
    """The order of `order_no`, locked; 404 `unknown_order`."""
    order = session.execute(
        select(PaymentOrder)
        .where(PaymentOrder.order_no == order_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if order is None:
        raise NotFound(f"no order {order_no}", code="unknown_order")
    return order


def change(
    session: Session,
    order: PaymentOrder,
    action: str,
    *,
    now: datetime,
    actor_id: object = None,
    detail: Mapping[str, object] | None = None,
) -> None:
    """Move the order by `action` (409 `invalid_transition` when not allowed); audited."""
    before = order.state
    order.state = ORDER.next(order.state, action)
    order.updated_at = now
    audit.record(
        session=session,
        actor_id=actor_id,  # type: ignore[arg-type]
        action=f"payment.{action}",
        object_type="payment_order",
        object_id=order.id,
        patient_id=order.patient_id,
        detail={"from": before, "to": order.state, **(detail or {})},
        at=now,
    )


def _applied(session: Session, order: PaymentOrder, kind: str, refund_no: str) -> bool:
    return (
        session.execute(
            select(AppliedNotice.id).where(
                AppliedNotice.order_id == order.id,
                AppliedNotice.kind == kind,
                AppliedNotice.refund_no == refund_no,
            )
        ).first()
        is not None
    )


def mark_applied(
    session: Session,
    order: PaymentOrder,
    notice: Notice,
    *,
    provider: str,
    source: str,
    now: datetime,
) -> None:
    session.add(
        AppliedNotice(
            order_id=order.id,
            kind=notice.kind,
            refund_no=notice.refund_no or "",
            provider=provider,
            notice_id=notice.notice_id,
            amount_cents=notice.amount_cents,
            provider_at=notice.at,
            source=source,
            applied_at=now,
        )
    )
    session.flush()


def apply_notice(
    *, session: Session, provider: str, notice: Notice, source: str, now: datetime
) -> Outcome:
    """Apply one verified notice to its order, once."""
    order = lock_by_no(session, notice.order_no)
    if order.provider is not None and order.provider != provider:
        raise Conflict(
            f"order {order.order_no} is paid through {order.provider}", code="wrong_provider"
        )
    if _applied(session, order, notice.kind, notice.refund_no or ""):
        return "duplicate"
    facts = {"source": source, "provider": provider, "notice_id": notice.notice_id}
    if notice.kind == "paid":
        if notice.amount_cents != order.own_cents:
            raise Conflict(
                f"paid {notice.amount_cents} fen; the order's own share is {order.own_cents}",
                code="amount_mismatch",
                paid_cents=notice.amount_cents,
                own_cents=order.own_cents,
            )
        change(session, order, "pay", now=now, detail=facts)
        order.provider = provider
        order.paid_at = notice.at
        order.provider_txn = notice.provider_txn
    elif notice.kind == "closed":
        if order.state in ("created", "paying"):
            change(session, order, "close", now=now, detail=facts)
            order.closed_reason = "closed_at_provider"
            kind_of(order.subject_type).release(
                session=session, subject_id=order.subject_id, now=now
            )
    else:
        refund = session.execute(
            select(PaymentRefund).where(
                PaymentRefund.order_id == order.id, PaymentRefund.refund_no == notice.refund_no
            )
        ).scalar_one_or_none()
        if refund is None:
            raise NotFound(
                f"no refund {notice.refund_no} of {order.order_no}", code="unknown_refund"
            )
        if notice.kind == "refunded":
            settle_refund(session, order, refund, amount_cents=notice.amount_cents, now=now)
        else:
            refund.state = "failed"
            refund.message = "reported failed by the provider"
            if order.state == "refunding":
                change(session, order, "refund_fail", now=now, detail=facts)
    mark_applied(session, order, notice, provider=provider, source=source, now=now)
    return "applied"


def settle_refund(
    session: Session,
    order: PaymentOrder,
    refund: PaymentRefund,
    *,
    amount_cents: int,
    now: datetime,
) -> None:
    """A refund the provider completed: the order is refunded."""
    if refund.state == "succeeded":
        return
    if amount_cents != refund.amount_cents:
        raise Conflict(
            f"refunded {amount_cents} fen of a {refund.amount_cents} fen refund",
            code="amount_mismatch",
        )
    refund.state, refund.settled_at = "succeeded", now
    order.refunded_cents += refund.amount_cents
    order.refunded_at = now
    change(session, order, "refund_succeeded", now=now, detail={"refund_no": refund.refund_no})
