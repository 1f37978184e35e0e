"""training: courses, enrolments, attendance

Revision ID: 0041
Revises: 0032
Create Date: 2026-12-03 19:30:00+00:00

The training catalogue (`training_course`, its capacity held by a CHECK on `enrolled_count`),
the enrolments (one per doctor and course) and the join/leave events of the live lecture.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import telemed.core.db

revision: str = "0041"
down_revision: str | Sequence[str] | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = telemed.core.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "training_course",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", _S(length=200), nullable=False),
        sa.Column("speaker_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("specialty_code", _S(length=40), nullable=False),
        sa.Column("target_tiers", sa.JSON(), nullable=False),
        sa.Column("starts_at", _T(timezone=True), nullable=False),
        sa.Column("ends_at", _T(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("enrolled_count", sa.Integer(), nullable=False),
        sa.Column("credits", sa.Float(), nullable=False),
        sa.Column("materials", sa.Text(), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("room_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.CheckConstraint(
            "enrolled_count >= 0 AND enrolled_count <= capacity",
            name=op.f("ck_training_course_capacity"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_training_course_schedule")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"],
            name=op.f("fk_training_course_created_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institution.id"],
            name=op.f("fk_training_course_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["speaker_id"], ["user_account.id"],
            name=op.f("fk_training_course_speaker_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_course")),
    )  # fmt: skip
    op.create_index(op.f("ix_training_course_institution_id"), "training_course",
                    ["institution_id"])  # fmt: skip
    op.create_index(op.f("ix_training_course_speaker_id"), "training_course", ["speaker_id"])
    op.create_index(op.f("ix_training_course_starts_at"), "training_course", ["starts_at"])
    op.create_index(op.f("ix_training_course_status"), "training_course", ["status"])
    op.create_table(
        "training_enrolment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("enrolled_at", _T(timezone=True), nullable=False),
        sa.Column("joined_at", _T(timezone=True), nullable=True),
        sa.Column("live_seconds", sa.Integer(), nullable=False),
        sa.Column("watched_seconds", sa.Integer(), nullable=False),
        sa.Column("credited_at", _T(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"], ["training_course.id"],
            name=op.f("fk_training_enrolment_course_id_training_course"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"],
            name=op.f("fk_training_enrolment_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_enrolment")),
        sa.UniqueConstraint(
            "course_id", "user_id", name=op.f("uq_training_enrolment_course_id_user_id")
        ),
    )  # fmt: skip
    op.create_index(op.f("ix_training_enrolment_course_id"), "training_enrolment", ["course_id"])
    op.create_index(op.f("ix_training_enrolment_user_id"), "training_enrolment", ["user_id"])
    op.create_table(
        "training_attendance",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("kind", _S(length=8), nullable=False),
        sa.Column("at", _T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["training_enrolment.id"],
            name=op.f("fk_training_attendance_enrolment_id_training_enrolment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_attendance")),
    )  # fmt: skip
    op.create_index(op.f("ix_training_attendance_enrolment_id"), "training_attendance",
                    ["enrolment_id"])  # fmt: skip


def downgrade() -> None:
    op.drop_table("training_attendance")
    op.drop_table("training_enrolment")
    op.drop_table("training_course")
