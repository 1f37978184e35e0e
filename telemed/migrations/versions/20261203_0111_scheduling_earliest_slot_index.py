"""scheduling: index for each specialist's earliest free slot of a class (routing proposals)

The proposal of a consultation looks up, in one statement, the earliest active slot of a
service class for every candidate specialist (`scheduling.search.earliest_slots`): with
(specialist, class, start, id) each lookup starts at that class's first slot instead of
walking the specialist's other classes.

Revision ID: 0111
Revises: 0102
Create Date: 2026-12-03 09:52:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0111"
down_revision: str | Sequence[str] | None = "0102"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    with op.batch_alter_table("scheduling_slot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scheduling_slot_specialist_class_start",
            ["specialist_id", "service_class", "start_at", "id"],
            unique=False,
            postgresql_where=ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduling_slot", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduling_slot_specialist_class_start")
