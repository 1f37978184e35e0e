"""dicom: modality worklist items (scheduled procedure steps of imaging requests)

Revision ID: 0211
Revises: 0202
Create Date: 2026-12-02 18:35:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import telemed.core.db

revision: str = "0211"
down_revision: str | Sequence[str] | None = "0202"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _s(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "dicom_worklist_item",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("accession_number", _s(16), nullable=False),
        sa.Column("study_uid", _s(64), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("dicom_patient_id", _s(64), nullable=False),
        sa.Column("issuer_of_patient_id", _s(64), nullable=False),
        sa.Column("target_type", _s(16), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("modality", _s(16), nullable=False),
        sa.Column("procedure", _s(64), nullable=False),
        sa.Column("scheduled_at", telemed.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=False),
        sa.Column("referring_physician", _s(64), nullable=False),
        sa.Column("status", _s(16), nullable=False),
        sa.Column("matched_study_uid", _s(64), nullable=True),
        sa.Column("created_at", telemed.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", telemed.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_dicom_worklist_item_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_dicom_worklist_item_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["user_account.id"],
            name=op.f("fk_dicom_worklist_item_requested_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dicom_worklist_item")),
        sa.UniqueConstraint(
            "accession_number", name=op.f("uq_dicom_worklist_item_accession_number")
        ),
    )
    with op.batch_alter_table("dicom_worklist_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dicom_worklist_item_institution_id"), ["institution_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dicom_worklist_item_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dicom_worklist_item_target_id"), ["target_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dicom_worklist_item_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("dicom_worklist_item")
