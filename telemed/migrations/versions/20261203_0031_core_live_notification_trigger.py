"""core: announce new in-app notifications on the live channel

Revision ID: 0031
Revises: 0023
Create Date: 2026-12-03 19:00:00+00:00

PostgreSQL only: an AFTER INSERT trigger on `notification` calls
`pg_notify('telemed_live', '{"t": "n", "u": "<user id>"}')` for every in-app row, in the
inserting transaction (delivered on commit, dropped on rollback), however the row is
written: ORM flushes and the booking's one-statement CTE alike (telemed.core.live). SQLite
(one process) announces in process instead: nothing to create there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION notification_live() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(
                'telemed_live', json_build_object('t', 'n', 'u', NEW.user_id)::text
            );
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER notification_live AFTER INSERT ON notification
        FOR EACH ROW WHEN (NEW.channel = 'in_app' AND NEW.user_id IS NOT NULL)
        EXECUTE FUNCTION notification_live()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER notification_live ON notification")
    op.execute("DROP FUNCTION notification_live()")
