"""payments: orders, refunds, applied notices, coverage table, reconciliation runs

Revision ID: 0701
Revises: 0041
Create Date: 2026-12-04 02:00:00+00:00

The payments chain. `patient.insurance_category` (the basic medical insurance category
the shares are computed from); `payment_coverage_rule` seeded with EXAMPLE values (marked
`is_example`, not published rates); `payment_order` with one standing order per subject (a
partial unique index) and shares that add up (CHECK); `payment_refund`;
`payment_applied_notice` (one row per applied (order, kind, refund): a provider's repeat
is not applied twice); `payment_reconciliation_run` (one per day and provider).
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import telemed.core.db

revision: str = "0701"
down_revision: str | Sequence[str] | None = "0041"
branch_labels: str | Sequence[str] | None = ("payments",)
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = telemed.core.db.UTCDateTime
STANDING = sa.text("state IN ('created', 'paying', 'paid', 'refunding', 'refund_failed')")

# (service class, category, basis points): EXAMPLE values for development and the demo.
EXAMPLE_RULES = [
    ("outpatient", "urban_employee", 6000),
    ("outpatient", "urban_rural_resident", 5000),
    ("consultation", "urban_employee", 5000),
    ("consultation", "urban_rural_resident", 4000),
    ("imaging_diagnosis", "urban_employee", 5000),
    ("imaging_diagnosis", "urban_rural_resident", 4000),
]


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("insurance_category", _S(length=32), nullable=True))

    rules = op.create_table(
        "payment_coverage_rule",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_class", _S(length=32), nullable=False),
        sa.Column("insurance_category", _S(length=32), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("cap_cents", sa.Integer(), nullable=True),
        sa.Column("is_example", sa.Boolean(), nullable=False),
        sa.Column("note", _S(length=200), nullable=False),
        sa.Column("updated_at", _T(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "rate_bp >= 0 AND rate_bp <= 10000", name=op.f("ck_payment_coverage_rule_rate_range")
        ),
        sa.CheckConstraint(
            "cap_cents IS NULL OR cap_cents >= 0", name=op.f("ck_payment_coverage_rule_cap_range")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_payment_coverage_rule_updated_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_coverage_rule")),
        sa.UniqueConstraint(
            "service_class",
            "insurance_category",
            name=op.f("uq_payment_coverage_rule_service_class_insurance_category"),
        ),
    )
    now = datetime(2026, 12, 4, tzinfo=UTC)
    op.bulk_insert(
        rules,
        [
            {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, f"telemed:coverage:{sc}:{cat}"),
                "service_class": sc,
                "insurance_category": cat,
                "rate_bp": bp,
                "cap_cents": None,
                "is_example": True,
                "note": "示例值，非公布的报销比例 (example value, not a published rate)",
                "updated_at": now,
                "updated_by_id": None,
            }
            for sc, cat, bp in EXAMPLE_RULES
        ],
    )

    op.create_table(
        "payment_order",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_no", _S(length=32), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("subject_type", _S(length=32), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("service_class", _S(length=32), nullable=False),
        sa.Column("description", _S(length=127), nullable=False),
        sa.Column("currency", _S(length=3), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("insurance_category", _S(length=32), nullable=False),
        sa.Column("insurance_cents", sa.Integer(), nullable=False),
        sa.Column("own_cents", sa.Integer(), nullable=False),
        sa.Column("coverage_rule_id", sa.Uuid(), nullable=True),
        sa.Column("state", _S(length=16), nullable=False),
        sa.Column("provider", _S(length=16), nullable=True),
        sa.Column("channel", _S(length=16), nullable=True),
        sa.Column("provider_ref", _S(length=128), nullable=True),
        sa.Column("provider_txn", _S(length=64), nullable=True),
        sa.Column("expires_at", _T(timezone=True), nullable=False),
        sa.Column("paid_at", _T(timezone=True), nullable=True),
        sa.Column("refunded_cents", sa.Integer(), nullable=False),
        sa.Column("refunded_at", _T(timezone=True), nullable=True),
        sa.Column("closed_reason", _S(length=64), nullable=False),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("updated_at", _T(timezone=True), nullable=False),
        sa.CheckConstraint(
            "insurance_cents >= 0 AND own_cents >= 0 AND insurance_cents + own_cents = total_cents",
            name=op.f("ck_payment_order_shares_add_up"),
        ),
        sa.CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= own_cents",
            name=op.f("ck_payment_order_refund_cap"),
        ),
        sa.ForeignKeyConstraint(
            ["coverage_rule_id"],
            ["payment_coverage_rule.id"],
            name=op.f("fk_payment_order_coverage_rule_id_payment_coverage_rule"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_payment_order_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_payment_order_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_payment_order_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_order")),
        sa.UniqueConstraint("order_no", name=op.f("uq_payment_order_order_no")),
    )
    with op.batch_alter_table("payment_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_order_patient_id"), ["patient_id"])
        batch_op.create_index(batch_op.f("ix_payment_order_institution_id"), ["institution_id"])
        batch_op.create_index(batch_op.f("ix_payment_order_state"), ["state"])
        batch_op.create_index(batch_op.f("ix_payment_order_paid_at"), ["paid_at"])
        batch_op.create_index(batch_op.f("ix_payment_order_refunded_at"), ["refunded_at"])
        batch_op.create_index("ix_payment_order_state_expires", ["state", "expires_at"])
        batch_op.create_index(
            "ix_payment_order_one_standing_per_subject",
            ["subject_type", "subject_id"],
            unique=True,
            postgresql_where=STANDING,
            sqlite_where=STANDING,
        )

    op.create_table(
        "payment_refund",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("refund_no", _S(length=32), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("reason", _S(length=80), nullable=False),
        sa.Column("state", _S(length=16), nullable=False),
        sa.Column("provider_ref", _S(length=64), nullable=True),
        sa.Column("message", _S(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_at", _T(timezone=True), nullable=False),
        sa.Column("settled_at", _T(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_order.id"],
            name=op.f("fk_payment_refund_order_id_payment_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refund")),
        sa.UniqueConstraint("refund_no", name=op.f("uq_payment_refund_refund_no")),
    )
    with op.batch_alter_table("payment_refund", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_refund_order_id"), ["order_id"])

    op.create_table(
        "payment_applied_notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("kind", _S(length=16), nullable=False),
        sa.Column("refund_no", _S(length=32), nullable=False),
        sa.Column("provider", _S(length=16), nullable=False),
        sa.Column("notice_id", _S(length=64), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("provider_at", _T(timezone=True), nullable=False),
        sa.Column("source", _S(length=16), nullable=False),
        sa.Column("applied_at", _T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_order.id"],
            name=op.f("fk_payment_applied_notice_order_id_payment_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_applied_notice")),
        sa.UniqueConstraint(
            "order_id",
            "kind",
            "refund_no",
            name=op.f("uq_payment_applied_notice_order_id_kind_refund_no"),
        ),
    )
    with op.batch_alter_table("payment_applied_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_applied_notice_order_id"), ["order_id"])

    op.create_table(
        "payment_reconciliation_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider", _S(length=16), nullable=False),
        sa.Column("ran_at", _T(timezone=True), nullable=False),
        sa.Column("ours", sa.Integer(), nullable=False),
        sa.Column("theirs", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_reconciliation_run")),
        sa.UniqueConstraint(
            "day", "provider", name=op.f("uq_payment_reconciliation_run_day_provider")
        ),
    )


def downgrade() -> None:
    op.drop_table("payment_reconciliation_run")
    op.drop_table("payment_applied_notice")
    op.drop_table("payment_refund")
    op.drop_table("payment_order")
    op.drop_table("payment_coverage_rule")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("insurance_category")
