"""core: the patients each audit row concerns (list reads name many)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 18:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event_patient",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["audit_event.id"],
            name=op.f("fk_audit_event_patient_event_id_audit_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "patient_id", name=op.f("pk_audit_event_patient")),
    )
    with op.batch_alter_table("audit_event_patient", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_event_patient_patient_id"), ["patient_id"], unique=False
        )
    # rows written before this table existed name their one patient in audit_event
    op.execute(
        "INSERT INTO audit_event_patient (event_id, patient_id) "
        "SELECT id, patient_id FROM audit_event WHERE patient_id IS NOT NULL"
    )
    if op.get_bind().dialect.name == "postgresql":
        # append-only like audit_event (its trigger function raises for any change)
        op.execute(
            """
            CREATE FUNCTION audit_event_patient_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'audit_event_patient is append-only';
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER audit_event_patient_no_change
              BEFORE UPDATE OR DELETE ON audit_event_patient
              FOR EACH ROW EXECUTE FUNCTION audit_event_patient_append_only();
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_patient_no_change ON audit_event_patient")
        op.execute("DROP FUNCTION IF EXISTS audit_event_patient_append_only()")
    with op.batch_alter_table("audit_event_patient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_patient_patient_id"))
    op.drop_table("audit_event_patient")
