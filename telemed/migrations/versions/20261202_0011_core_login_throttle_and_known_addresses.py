"""core: login throttle counters and known login addresses

Revision ID: 0011
Revises: 0003
Create Date: 2026-12-02 18:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import telemed.core.db

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttle_counter",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", telemed.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", telemed.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttle_counter")),
    )
    with op.batch_alter_table("throttle_counter", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_throttle_counter_blocked_until"), ["blocked_until"], unique=False
        )
    op.create_table(
        "known_login_address",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_login_at", telemed.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_known_login_address_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("user_id", "address", name=op.f("pk_known_login_address")),
    )


def downgrade() -> None:
    op.drop_table("known_login_address")
    with op.batch_alter_table("throttle_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_throttle_counter_blocked_until"))
    op.drop_table("throttle_counter")
