"""scheduling: search index with id (earliest first, ties by id, straight from the index)

Revision ID: 0102
Revises: 0101
Create Date: 2026-11-27 00:22:35.351803+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0102"
down_revision: str | Sequence[str] | None = "0101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    with op.batch_alter_table("scheduling_slot", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduling_slot_search_specialty")
        batch_op.create_index(
            "ix_scheduling_slot_search_specialty",
            ["specialty_code", "league_code", "start_at", "id"],
            unique=False,
            postgresql_where=ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduling_slot", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduling_slot_search_specialty")
        batch_op.create_index(
            "ix_scheduling_slot_search_specialty",
            ["specialty_code", "league_code", "start_at"],
            unique=False,
            postgresql_where=ACTIVE,
        )
