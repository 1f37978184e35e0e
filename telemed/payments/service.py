"""Payments' façade: what the routes, the jobs and other domains call
(`from telemed.payments import service as payments_service`).

`orders` (making and reading orders), `paying` (opening a payment, querying the
provider), `notices` (applying a provider's facts once, under the row lock), `expiry`,
`refunds`, `reconciliation`, `coverage` (the coverage table), `subjects` (what an order
can be for), `providers` (the registry) and `policy` (who sees what). Imports run
orders → paying → expiry → refunds → notices → subjects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from telemed.payments.coverage import CATEGORIES, list_rules, set_rule, shares
from telemed.payments.expiry import expire_due, expire_if_due
from telemed.payments.notices import apply_notice, lock_by_no
from telemed.payments.orders import create_order, list_orders, read_order, standing_order
from telemed.payments.paying import pay, provider_failure, refresh, refresh_paying
from telemed.payments.provider import ProviderError
from telemed.payments.reconciliation import reconcile, stored_runs
from telemed.payments.refunds import on_subject_cancelled, refund_order, retry_failed_refunds

__all__ = [
    "CATEGORIES",
    "ProviderError",
    "apply_notice",
    "create_order",
    "expire_due",
    "expire_if_due",
    "list_orders",
    "list_rules",
    "lock_by_no",
    "on_booking_cancelled",
    "on_subject_cancelled",
    "pay",
    "provider_failure",
    "read_order",
    "reconcile",
    "refresh",
    "refresh_paying",
    "refund_order",
    "retry_failed_refunds",
    "set_rule",
    "shares",
    "standing_order",
    "stored_runs",
    "sweep",
]


def on_booking_cancelled(*, session: Session, booking: Any, by: Any, now: datetime) -> None:
    """scheduling's cancellation hook: refund the booking's paid order, close an unpaid one."""
    on_subject_cancelled(
        session=session,
        subject_type="booking",
        subject_id=booking.id,
        now=now,
        by_id=getattr(by, "id", None),
    )


def sweep(*, session: Session, now: datetime) -> dict[str, int]:
    """The periodic job: query orders left paying, close expired ones, retry refunds."""
    return {
        "queried": refresh_paying(session=session, now=now),
        "expired": expire_due(session=session, now=now),
        "refunds_retried": retry_failed_refunds(session=session, now=now),
    }
