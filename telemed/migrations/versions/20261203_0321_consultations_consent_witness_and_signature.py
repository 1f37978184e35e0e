"""consultations: consent in writing before a witness, or signed on the screen

`consultation_consent.witness` names who witnessed a paper form signed (`method="written"`);
`consultation_consent.signature_png` holds the signature the patient drew on the screen
(`method="on_screen"`), a PNG checked by `telemed.consultations.consent_signature`.

Revision ID: 0321
Revises: 0313
Create Date: 2026-12-03 19:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0321"
down_revision: str | Sequence[str] | None = "0313"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "consultation_consent",
        sa.Column("witness", sa.String(length=64), nullable=False, server_default=""),
    )
    op.add_column(
        "consultation_consent", sa.Column("signature_png", sa.LargeBinary(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("consultation_consent", schema=None) as batch_op:
        batch_op.drop_column("signature_png")
        batch_op.drop_column("witness")
