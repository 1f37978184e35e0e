"""core: a notification carries its message code and parameters

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03 19:00:00+00:00

`notification.code` (the catalogue entry its title and body were rendered from) and
`notification.params` (JSON, the values filled in: codes and ISO times, not texts), so a
client can render the message in its own language. Rows written before this revision get
their `kind` as code and no parameters.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("params", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    op.execute("UPDATE notification SET code = kind")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("params")
        batch_op.drop_column("code")
