"""Fees and payments: the fee schedule, a payment-provider seam, the payment states.

`PaymentProvider` is the interface real providers (mobile payment) will implement;
`SandboxPaymentProvider` settles at once and is the only one today. A request's
`payment_state` moves by the `PAYMENT` machine of `states.py` (charge, refund).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, select

from telemed.consultations.models import Consultation, FeeSchedule, Payment
from telemed.consultations.states import PAYMENT
from telemed.core.errors import Conflict


@dataclass(frozen=True)
class ProviderResult:
    ref: str
    succeeded: bool
    message: str = ""


class PaymentProvider(Protocol):
    name: str

    def charge(self, *, reference: str, amount_cents: int, currency: str) -> ProviderResult:
        """Take a payment for `reference`."""

    def refund(self, *, charge_ref: str, amount_cents: int, currency: str) -> ProviderResult:
        """Give back (part of) an earlier charge."""


class SandboxPaymentProvider:
    """Settles every charge and refund immediately with a deterministic reference."""

    name = "sandbox"

    def charge(self, *, reference: str, amount_cents: int, currency: str) -> ProviderResult:
        digest = hashlib.sha256(f"charge:{reference}:{amount_cents}".encode()).hexdigest()
        return ProviderResult(ref=f"sbx_ch_{digest[:20]}", succeeded=True)

    def refund(self, *, charge_ref: str, amount_cents: int, currency: str) -> ProviderResult:
        digest = hashlib.sha256(f"refund:{charge_ref}:{amount_cents}".encode()).hexdigest()
        return ProviderResult(ref=f"sbx_rf_{digest[:20]}", succeeded=True)


_provider: PaymentProvider = SandboxPaymentProvider()


def provider() -> PaymentProvider:
    return _provider


def set_provider(p: PaymentProvider | None) -> None:
    """Swap the provider (tests, or a real provider at start-up)."""
    global _provider
    _provider = p if p is not None else SandboxPaymentProvider()


def initial_state(fee_cents: int) -> str:
    """The payment state of a request just submitted: a fee is unpaid, none is waived."""
    return "unpaid" if fee_cents > 0 else "waived"


def fee_for(*, session: Session, service_class: str, tier: str) -> FeeSchedule | None:
    return session.execute(
        select(FeeSchedule).where(
            FeeSchedule.service_class == service_class, FeeSchedule.tier == tier
        )
    ).scalar_one_or_none()


def set_fee(
    *,
    session: Session,
    service_class: str,
    tier: str,
    amount_cents: int,
    currency: str,
    by_id: uuid.UUID | None,
    now: datetime,
) -> FeeSchedule:
    fee = fee_for(session=session, service_class=service_class, tier=tier)
    if fee is None:
        fee = FeeSchedule(service_class=service_class, tier=tier, amount_cents=0, updated_at=now)
        session.add(fee)
    fee.amount_cents = amount_cents
    fee.currency = currency
    fee.updated_at = now
    fee.updated_by_id = by_id
    session.flush()
    return fee


def list_fees(*, session: Session) -> list[FeeSchedule]:
    return list(
        session.execute(
            select(FeeSchedule).order_by(FeeSchedule.service_class, FeeSchedule.tier)
        ).scalars()
    )


def charge(*, session: Session, c: Consultation, by_id: uuid.UUID, now: datetime) -> Payment:
    """Pay the request's fee; the caller holds the row lock."""
    if "charge" not in PAYMENT.allowed(c.payment_state):
        raise Conflict(
            f"payment state is {c.payment_state!r}; only unpaid requests can be paid",
            code="not_payable",
            payment_state=c.payment_state,
        )
    p = provider()
    result = p.charge(reference=str(c.id), amount_cents=c.fee_cents, currency=c.currency)
    return _settle(session, c, "charge", p, result, c.fee_cents, by_id=by_id, now=now)


def refund_if_paid(
    *, session: Session, c: Consultation, by_id: uuid.UUID | None, now: datetime
) -> Payment | None:
    """Refund a paid request (cancel, decline, expiry); None when nothing was paid."""
    if "refund" not in PAYMENT.allowed(c.payment_state):
        return None
    charge_row = (
        session.execute(
            select(Payment)
            .where(
                Payment.consultation_id == c.id,
                Payment.kind == "charge",
                Payment.status == "succeeded",
            )
            .order_by(Payment.created_at.desc())  # type: ignore[attr-defined]
        )
        .scalars()
        .first()
    )
    assert charge_row is not None
    p = provider()
    result = p.refund(
        charge_ref=charge_row.provider_ref,
        amount_cents=charge_row.amount_cents,
        currency=c.currency,
    )
    return _settle(session, c, "refund", p, result, charge_row.amount_cents, by_id=by_id, now=now)


def _settle(
    session: Session,
    c: Consultation,
    action: str,
    p: PaymentProvider,
    result: ProviderResult,
    amount_cents: int,
    *,
    by_id: uuid.UUID | None,
    now: datetime,
) -> Payment:
    """Record what the provider did (`action`: charge or refund) and, if it succeeded, move
    the request's payment state by the `PAYMENT` machine."""
    row = Payment(
        consultation_id=c.id,
        kind=action,
        provider=p.name,
        provider_ref=result.ref,
        amount_cents=amount_cents,
        currency=c.currency,
        status="succeeded" if result.succeeded else "failed",
        by_id=by_id,
        created_at=now,
    )
    session.add(row)
    if result.succeeded:
        c.payment_state = PAYMENT.next(c.payment_state, action)
    session.flush()
    return row


def payments_of(*, session: Session, consultation_id: uuid.UUID) -> list[Payment]:
    return list(
        session.execute(
            select(Payment)
            .where(Payment.consultation_id == consultation_id)
            .order_by(Payment.created_at)  # type: ignore[arg-type]
        ).scalars()
    )
