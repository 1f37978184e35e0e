"""core: an SMS is addressed to a patient, not to a user account

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:10:00+00:00

`notification.patient_id` (nullable, indexed) and `notification.user_id` nullable: an SMS
row names the patient (one text per event, also for a patient without an account); in-app
rows keep naming their account. Rows queued before this revision keep their `user_id` (the
dispatcher finds the patient through the account).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_id", sa.Uuid(), nullable=True))
        batch_op.alter_column("user_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index(batch_op.f("ix_notification_patient_id"), ["patient_id"])


def downgrade() -> None:
    # Before this revision every row needs an account: an SMS to a patient is kept only
    # as far as the patient has one (given to the first account), the rest are dropped.
    op.execute(
        "UPDATE notification SET user_id = (SELECT u.id FROM user_account u"
        " WHERE u.patient_id = notification.patient_id ORDER BY u.created_at, u.id LIMIT 1)"
        " WHERE user_id IS NULL"
    )
    op.execute("DELETE FROM notification WHERE user_id IS NULL")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_patient_id"))
        batch_op.alter_column("user_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("patient_id")
