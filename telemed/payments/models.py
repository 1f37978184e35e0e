"""Tables of payments: orders, applied provider notices, refunds, the coverage table and
the stored reconciliation runs (docs/payments.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from telemed.core.db import id_field, utc_field

# States in which an order stands for its subject: a second order for the subject is not
# made while one of these exists (a partial unique index holds it).
STANDING_STATES = ("created", "paying", "paid", "refunding", "refund_failed")
OPEN_STATES = ("created", "paying")  # unpaid, may still be paid (or expire)
_STANDING_SQL = "state IN ('created', 'paying', 'paid', 'refunding', 'refund_failed')"


class PaymentOrder(SQLModel, table=True):
    """What a patient pays for (缴费订单): one subject (a booking …), its total from the fee
    schedule split into the insurance share and the patient's own share."""

    __tablename__ = "payment_order"
    __table_args__ = (
        CheckConstraint(
            "insurance_cents >= 0 AND own_cents >= 0 AND insurance_cents + own_cents = total_cents",
            name="shares_add_up",
        ),
        CheckConstraint("refunded_cents >= 0 AND refunded_cents <= own_cents", name="refund_cap"),
        Index(
            "ix_payment_order_one_standing_per_subject",
            "subject_type",
            "subject_id",
            unique=True,
            postgresql_where=text(_STANDING_SQL),
            sqlite_where=text(_STANDING_SQL),
        ),
        Index("ix_payment_order_state_expires", "state", "expires_at"),
    )

    id: uuid.UUID = id_field()
    order_no: str = Field(unique=True, max_length=32)  # our out_trade_no
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    created_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    subject_type: str = Field(max_length=32)  # booking
    subject_id: uuid.UUID
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    service_class: str = Field(max_length=32)
    description: str = Field(max_length=127)
    currency: str = Field(default="CNY", max_length=3)
    total_cents: int
    insurance_category: str = Field(max_length=32)
    insurance_cents: int
    own_cents: int
    coverage_rule_id: uuid.UUID | None = Field(default=None, foreign_key="payment_coverage_rule.id")
    state: str = Field(max_length=16, index=True)
    provider: str | None = Field(default=None, max_length=16)
    channel: str | None = Field(default=None, max_length=16)
    provider_ref: str | None = Field(default=None, max_length=128)  # prepay_id …
    provider_txn: str | None = Field(default=None, max_length=64)  # transaction_id / trade_no
    expires_at: datetime = utc_field()
    paid_at: datetime | None = utc_field(nullable=True, index=True)
    refunded_cents: int = 0
    refunded_at: datetime | None = utc_field(nullable=True, index=True)
    closed_reason: str = Field(default="", max_length=64)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class PaymentRefund(SQLModel, table=True):
    """A refund of an order's own share at its provider (our out_refund_no)."""

    __tablename__ = "payment_refund"

    id: uuid.UUID = id_field()
    order_id: uuid.UUID = Field(foreign_key="payment_order.id", index=True)
    refund_no: str = Field(unique=True, max_length=32)
    amount_cents: int
    reason: str = Field(max_length=80)
    state: str = Field(max_length=16)  # processing | succeeded | failed
    provider_ref: str | None = Field(default=None, max_length=64)
    message: str = Field(default="", max_length=200)
    attempts: int = 1
    requested_at: datetime = utc_field()
    settled_at: datetime | None = utc_field(nullable=True)


class AppliedNotice(SQLModel, table=True):
    """A provider's fact applied to an order, once: a repeat of (order, kind, refund) is
    acknowledged and not applied again."""

    __tablename__ = "payment_applied_notice"
    __table_args__ = (UniqueConstraint("order_id", "kind", "refund_no"),)

    id: uuid.UUID = id_field()
    order_id: uuid.UUID = Field(foreign_key="payment_order.id", index=True)
    kind: str = Field(max_length=16)  # paid | closed | refunded | refund_failed
    refund_no: str = Field(default="", max_length=32)  # "" unless a refund notice
    provider: str = Field(max_length=16)
    notice_id: str | None = Field(default=None, max_length=64)
    amount_cents: int
    provider_at: datetime = utc_field()
    source: str = Field(max_length=16)  # notification | query
    applied_at: datetime = utc_field()


class CoverageRule(SQLModel, table=True):
    """How much of a service's total the patient's insurance category bears (the
    configurable coverage table; seeded with example values, edited by admins)."""

    __tablename__ = "payment_coverage_rule"
    __table_args__ = (
        UniqueConstraint("service_class", "insurance_category"),
        CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_range"),
        CheckConstraint("cap_cents IS NULL OR cap_cents >= 0", name="cap_range"),
    )

    id: uuid.UUID = id_field()
    service_class: str = Field(max_length=32)
    insurance_category: str = Field(max_length=32)
    rate_bp: int  # basis points of the total the insurance bears (7000 = 70 %)
    cap_cents: int | None = None  # at most this much per order (None: no cap)
    is_example: bool = True  # seeded example value, not a published rate
    note: str = Field(default="", max_length=200)
    updated_at: datetime = utc_field()
    updated_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class ReconciliationRun(SQLModel, table=True):
    """One comparison of our paid and refunded orders of a day with a provider's bill."""

    __tablename__ = "payment_reconciliation_run"
    __table_args__ = (UniqueConstraint("day", "provider"),)

    id: uuid.UUID = id_field()
    day: date
    provider: str = Field(max_length=16)
    ran_at: datetime = utc_field()
    ours: int  # lines of ours compared
    theirs: int  # lines of the provider's bill
    matched: int
    mismatches: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
