"""video: legal hold on recordings (who, when, why)

Revision ID: 0511
Revises: 0502
Create Date: 2026-12-02 18:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import telemed.core.db

revision: str = "0511"
down_revision: str | Sequence[str] | None = "0502"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("video_recording", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("legal_hold_at", telemed.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("legal_hold_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("legal_hold_reason", sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_video_recording_legal_hold_by_id_user_account"),
            "user_account",
            ["legal_hold_by_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("video_recording", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_video_recording_legal_hold_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("legal_hold_reason")
        batch_op.drop_column("legal_hold_by_id")
        batch_op.drop_column("legal_hold_at")
