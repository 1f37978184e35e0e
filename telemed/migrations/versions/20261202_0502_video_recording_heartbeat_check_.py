"""video: recording heartbeat, warnings, error and the file check

Revision ID: 0502
Revises: 0501
Create Date: 2026-12-02 18:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import telemed.core.db

revision: str = "0502"
down_revision: str | Sequence[str] | None = "0501"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("video_recording", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heartbeat_at", telemed.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("instance", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.add_column(
            sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.add_column(
            sa.Column("warnings", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("check_status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True)
        )
        batch_op.add_column(
            sa.Column("check_streams", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("video_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("audio_seconds", sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f("ix_video_recording_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("video_recording", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_recording_status"))
        for column in (
            "audio_seconds",
            "video_seconds",
            "check_streams",
            "check_status",
            "warnings",
            "error",
            "instance",
            "heartbeat_at",
        ):
            batch_op.drop_column(column)
