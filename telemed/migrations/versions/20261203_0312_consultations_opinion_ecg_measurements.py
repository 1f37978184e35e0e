"""consultations: the ECG values of a signed opinion

`consultation_opinion.ecg_measurements` holds the ECG reading's values as the reader signed
them (heart rate, RR, PR, QRS, QT, QTc Bazett/Fridericia, axis, which of them were edited,
the instance they were measured on); NULL for opinions that are not ECG readings.

Revision ID: 0312
Revises: 0311
Create Date: 2026-12-03 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0312"
down_revision: str | Sequence[str] | None = "0311"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consultation_opinion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ecg_measurements", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consultation_opinion", schema=None) as batch_op:
        batch_op.drop_column("ecg_measurements")
