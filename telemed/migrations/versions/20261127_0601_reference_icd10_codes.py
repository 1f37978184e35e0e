"""reference: icd10 codes

Revision ID: 0601
Revises: 0002
Create Date: 2026-11-27 03:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import telemed.core.db

revision: str = "0601"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = ("reference",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reference_icd10",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("name_zh", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("chapter", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("updated_at", telemed.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_reference_icd10")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Prefix search (`code LIKE 'I21%'`) uses this whatever the database collation.
        op.execute(
            "CREATE INDEX ix_reference_icd10_code_prefix "
            "ON reference_icd10 (code varchar_pattern_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_reference_icd10_code_prefix")
    op.drop_table("reference_icd10")
