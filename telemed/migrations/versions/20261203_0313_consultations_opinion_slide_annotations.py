"""consultations: slide annotations on the opinion

`consultation_opinion.annotations` holds the specialist's marks on the request's whole-slide
images (points and rectangles with a text, base-level pixels; docs/imaging.md, Pathology).
They live on the opinion row, so the row's freeze trigger (0301) freezes them at signing,
and the signed canonical form covers them when there are some.

Revision ID: 0313
Revises: 0312
Create Date: 2026-12-03 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0313"
down_revision: str | Sequence[str] | None = "0312"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (also on SQLite): a table rebuild would drop the freeze triggers
    op.add_column(
        "consultation_opinion",
        sa.Column("annotations", sa.JSON(), nullable=False, server_default="[]"),
    )


def downgrade() -> None:
    with op.batch_alter_table("consultation_opinion", schema=None) as batch_op:
        batch_op.drop_column("annotations")
