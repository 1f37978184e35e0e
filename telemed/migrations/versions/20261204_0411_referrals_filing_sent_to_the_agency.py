"""referrals: cross-region filings sent to the insurance agency (states, reply, retries)

The filing (异地就医备案) is now submitted to the agency's interface: its state follows
`referrals.states.FILING` (submitted, accepted, rejected, expired, revoked), the agency's
answer is kept with it, and a transport failure leaves it `submitted` for the next attempt.
Old rows keep their meaning: filed -> accepted, refused -> rejected, draft -> submitted.

Revision ID: 0411
Revises: 0401
Create Date: 2026-12-04 01:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import telemed.core.db

revision: str = "0411"
down_revision: str | Sequence[str] | None = "0401"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_TO_NEW = {"filed": "accepted", "refused": "rejected", "draft": "submitted"}


def upgrade() -> None:
    with op.batch_alter_table("referral_filing", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reason_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("msgid", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True)
        )
        batch_op.add_column(
            sa.Column("agency_msgid", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True)
        )
        batch_op.add_column(sa.Column("reply", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        for name in ("next_attempt_at", "decided_at", "closed_at"):
            batch_op.add_column(sa.Column(name, telemed.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(), nullable=True))
        batch_op.create_index("ix_referral_filing_status", ["status"], unique=False)
        batch_op.create_index(
            "ix_referral_filing_next_attempt_at", ["next_attempt_at"], unique=False
        )
    filing = sa.table(
        "referral_filing",
        sa.column("status", sa.String),
        sa.column("filed_at", telemed.core.db.UTCDateTime()),
        sa.column("decided_at", telemed.core.db.UTCDateTime()),
    )
    for old, new in _OLD_TO_NEW.items():
        op.execute(filing.update().where(filing.c.status == old).values(status=new))
    op.execute(
        filing.update().where(filing.c.status == "accepted").values(decided_at=filing.c.filed_at)
    )


def downgrade() -> None:
    filing = sa.table("referral_filing", sa.column("status", sa.String))
    for old, new in _OLD_TO_NEW.items():
        op.execute(filing.update().where(filing.c.status == new).values(status=old))
    op.execute(
        filing.update().where(filing.c.status.in_(("expired", "revoked"))).values(status="filed")
    )
    with op.batch_alter_table("referral_filing", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_filing_next_attempt_at")
        batch_op.drop_index("ix_referral_filing_status")
        for name in (
            "last_error", "closed_at", "decided_at", "next_attempt_at", "attempts",
            "reply", "agency_msgid", "msgid", "reason_code",
        ):  # fmt: skip
            batch_op.drop_column(name)
