"""core: forced password change; the account lockout columns go (throttling replaces them)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:41:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import telemed.core.db

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "password_changed_at", telemed.core.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locked_until", telemed.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("must_change_password")
