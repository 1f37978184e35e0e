"""video: a lecture's raised hands and the attendee allowed to speak

Revision ID: 0521
Revises: 0511
Create Date: 2026-12-04 01:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import telemed.core.db

revision: str = "0521"
down_revision: str | Sequence[str] | None = "0511"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("video_room_participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hand_raised_at", telemed.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("may_speak", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("video_room_participant", schema=None) as batch_op:
        batch_op.drop_column("may_speak")
        batch_op.drop_column("hand_raised_at")
