"""identity: chosen languages and Mongolian names

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 14:00:00+00:00

`user_account.language`: the language a user chose for the app (zh-CN | en | mn-Mong;
NULL = not chosen). `patient.preferred_language`: the language the patient is told things
in (follows the patient's own choice). `patient.name_mn`: the name in Mongolian script
(NFC), with `patient.name_mn_key`, its search key (telemed.identity.names), indexed.
Existing rows keep NULL everywhere: nothing chosen, no Mongolian name.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_mn", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("name_mn_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("preferred_language", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_patient_name_mn_key"), ["name_mn_key"])


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_name_mn_key"))
        batch_op.drop_column("preferred_language")
        batch_op.drop_column("name_mn_key")
        batch_op.drop_column("name_mn")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("language")
