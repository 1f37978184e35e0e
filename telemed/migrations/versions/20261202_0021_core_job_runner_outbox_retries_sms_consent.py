"""core: job runner queue (procrastinate 3.10 schema), outbox retries and dead letters,
patients' SMS consent

Revision ID: 0021
Revises: 0012
Create Date: 2026-12-02 18:50:00+00:00

The procrastinate schema is a copy of the schema.sql that procrastinate 3.10.0 ships
(telemed/migrations/sql/), so this migration creates the same tables whatever version is
installed later; a procrastinate upgrade brings its own sql/migrations, applied by a new
revision. SQLite (`make run`) has no queue table: the in-process runner keeps it in memory.
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import telemed.core.db

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = Path(__file__).resolve().parent.parent / "sql" / "procrastinate-3.10.0.sql"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Through the driver without parameters: the file has % and :: that a bound
        # statement would read as placeholders.
        with bind.connection.dbapi_connection.cursor() as cur:  # type: ignore[union-attr]
            cur.execute(SCHEMA.read_text(encoding="utf-8"))
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=12), server_default="sent", nullable=False)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("next_attempt_at", telemed.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("provider_message_id", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("dead_at", telemed.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_notification_status"), ["status"], unique=False)
    # What was never sent is pending (it was queued for a dispatcher nobody ran).
    op.execute("UPDATE notification SET status = 'pending' WHERE sent_at IS NULL")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sms_consent_at", telemed.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("sms_consent_method", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("sms_consent_method")
        batch_op.drop_column("sms_consent_at")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_status"))
        for name in (
            "dead_at",
            "provider_message_id",
            "last_error",
            "next_attempt_at",
            "attempts",
            "status",
        ):
            batch_op.drop_column(name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
            "procrastinate_jobs, procrastinate_workers CASCADE"
        )
        op.execute(
            """
            DO $$
            DECLARE f record;
            BEGIN
                FOR f IN SELECT oid::regprocedure AS sig FROM pg_proc
                         WHERE proname LIKE 'procrastinate\\_%' LOOP
                    EXECUTE 'DROP FUNCTION IF EXISTS ' || f.sig || ' CASCADE';
                END LOOP;
            END $$;
            """
        )
        op.execute(
            "DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type, "
            "procrastinate_job_to_defer_v1 CASCADE"
        )
