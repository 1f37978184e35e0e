"""consultations: drop consultation_study (the study links live in dicom_study_link)

Every row of consultation_study was written together with its dicom_study_link row, so
nothing is lost; the downgrade rebuilds the table from the links.

Revision ID: 0303
Revises: 0302
Create Date: 2026-12-02 18:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import telemed.core.db

revision: str = "0303"
down_revision: str | Sequence[str] | None = "0302"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consultation_study", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_study_consultation_id"))
    op.drop_table("consultation_study")


def downgrade() -> None:
    op.create_table(
        "consultation_study",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("consultation_id", sa.Uuid(), nullable=False),
        sa.Column("study_uid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("linked_by_id", sa.Uuid(), nullable=False),
        sa.Column("linked_at", telemed.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_consultation_study_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"],
            ["user_account.id"],
            name=op.f("fk_consultation_study_linked_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_study")),
        sa.UniqueConstraint(
            "consultation_id",
            "study_uid",
            name=op.f("uq_consultation_study_consultation_id_study_uid"),
        ),
    )
    with op.batch_alter_table("consultation_study", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_study_consultation_id"), ["consultation_id"], unique=False
        )
    if sa.inspect(op.get_bind()).has_table("dicom_study_link"):
        op.execute(
            "INSERT INTO consultation_study (id, consultation_id, study_uid, linked_by_id,"
            " linked_at) SELECT l.id, l.target_id, l.study_uid, l.linked_by_id, l.created_at"
            " FROM dicom_study_link l JOIN consultation c ON c.id = l.target_id"
            " WHERE l.target_type = 'consultation'"
        )
