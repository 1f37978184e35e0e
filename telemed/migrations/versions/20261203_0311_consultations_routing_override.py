"""consultations: the routing override (chosen hospital outside the proposal order)

`override_reason` is the requester's reason for choosing a hospital other than the one the
routing rule proposed first; `first_proposed_institution_id` is that first proposal, kept
so the override can be shown and reported.

Revision ID: 0311
Revises: 0303
Create Date: 2026-12-03 09:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0311"
down_revision: str | Sequence[str] | None = "0303"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("override_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("first_proposed_institution_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_consultation_first_proposed_institution_id_institution"),
            "institution",
            ["first_proposed_institution_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_consultation_first_proposed_institution_id_institution"),
            type_="foreignkey",
        )
        batch_op.drop_column("first_proposed_institution_id")
        batch_op.drop_column("override_reason")
