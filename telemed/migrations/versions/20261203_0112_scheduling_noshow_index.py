"""scheduling: index for a patient's recent no-shows (the booking path's policy check)

Every online booking by a patient counts the patient's no-shows of the last 180 days
(`scheduling.policy.check_noshow_policy`, folded into the booking's first statement). A
partial index on (patient, start) over no-show rows only answers it from a few index
entries instead of filtering all of the patient's bookings; it stays small (no-shows are
rare) and costs nothing on the booking insert (a new booking is never a no-show).

Revision ID: 0112
Revises: 0111
Create Date: 2026-12-03 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0112"
down_revision: str | Sequence[str] | None = "0111"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOSHOW = sa.text("status = 'noshow'")


def upgrade() -> None:
    with op.batch_alter_table("scheduling_booking", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scheduling_booking_patient_noshow",
            ["patient_id", "start_at"],
            unique=False,
            postgresql_where=NOSHOW,
            sqlite_where=NOSHOW,
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduling_booking", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduling_booking_patient_noshow")
