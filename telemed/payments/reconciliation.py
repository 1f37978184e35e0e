"""Reconciliation (对账): our paid and refunded orders of a day (Asia/Shanghai) against the
provider's bill file of that day. Three kinds of mismatch: `missing_at_provider` (we have
it, the bill does not), `missing_here` (the bill has it, we do not), `amount_mismatch`.
Each run is stored (one per day and provider; a re-run replaces it)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from telemed.core.clock import SHANGHAI
from telemed.payments import providers
from telemed.payments.models import PaymentOrder, PaymentRefund, ReconciliationRun
from telemed.payments.provider import ProviderError

__all__ = ["day_bounds", "reconcile", "stored_runs"]

Key = tuple[str, str, str]  # order_no, paid|refund, refund_no


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants the Asia/Shanghai day starts and ends."""
    start = datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(UTC)
    return start, start + timedelta(days=1)


def _ours(session: Session, day: date, provider: str) -> dict[Key, int]:
    start, end = day_bounds(day)
    lines: dict[Key, int] = {}
    for order_no, amount in session.execute(
        select(PaymentOrder.order_no, PaymentOrder.own_cents).where(
            PaymentOrder.provider == provider,
            col(PaymentOrder.paid_at) >= start,
            col(PaymentOrder.paid_at) < end,
        )
    ):
        lines[(order_no, "paid", "")] = amount
    for order_no, refund_no, amount in session.execute(
        select(PaymentOrder.order_no, PaymentRefund.refund_no, PaymentRefund.amount_cents)
        .join(PaymentOrder, col(PaymentOrder.id) == col(PaymentRefund.order_id))
        .where(
            PaymentOrder.provider == provider,
            PaymentRefund.state == "succeeded",
            col(PaymentRefund.settled_at) >= start,
            col(PaymentRefund.settled_at) < end,
        )
    ):
        lines[(order_no, "refund", refund_no)] = amount
    return lines


def reconcile(*, session: Session, day: date, provider: str, now: datetime) -> ReconciliationRun:
    """Compare and store the day's run for `provider` (raises ProviderError when its bill
    cannot be fetched)."""
    ours = _ours(session, day, provider)
    theirs: dict[Key, int] = {}
    for line in providers.get(provider).bill(day):
        key: Key = (line.order_no, str(line.kind), line.refund_no or "")
        theirs[key] = theirs.get(key, 0) + line.amount_cents
    mismatches: list[dict[str, Any]] = []
    for key in sorted(ours.keys() | theirs.keys()):
        here, there = ours.get(key), theirs.get(key)
        if here == there:
            continue
        kind = (
            "missing_at_provider"
            if there is None
            else "missing_here"
            if here is None
            else "amount_mismatch"
        )
        mismatches.append(
            {
                "kind": kind,
                "order_no": key[0],
                "line": key[1],
                "refund_no": key[2] or None,
                "ours_cents": here,
                "theirs_cents": there,
            }
        )
    run = session.execute(
        select(ReconciliationRun).where(
            ReconciliationRun.day == day, ReconciliationRun.provider == provider
        )
    ).scalar_one_or_none()
    if run is None:
        run = ReconciliationRun(day=day, provider=provider, ran_at=now, ours=0, theirs=0, matched=0)
        session.add(run)
    run.ran_at, run.ours, run.theirs = now, len(ours), len(theirs)
    run.matched = sum(1 for k, v in ours.items() if theirs.get(k) == v)
    run.mismatches = mismatches
    session.flush()
    return run


def stored_runs(
    *, session: Session, day: date, now: datetime, provider_names: list[str]
) -> list[ReconciliationRun]:
    """The day's stored runs, one per provider; a provider not yet reconciled that day is
    reconciled now (one whose bill cannot be fetched is left out)."""
    runs = {
        r.provider: r
        for r in session.execute(
            select(ReconciliationRun).where(ReconciliationRun.day == day)
        ).scalars()
    }
    for name in provider_names:
        if name not in runs:
            try:
                runs[name] = reconcile(session=session, day=day, provider=name, now=now)
            except ProviderError:
                continue
    return [runs[n] for n in sorted(runs)]
