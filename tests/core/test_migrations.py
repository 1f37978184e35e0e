from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from telemed.cli import alembic_config, upgrade_database


def test_postgres_schema_is_at_every_head(committed_engine: Engine) -> None:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with committed_engine.connect() as conn:
        current = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    assert current == heads


def test_migrations_build_sqlite_from_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'smoke.db'}"
    upgrade_database(url)
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"institution", "alliance", "user_account", "patient", "audit_event"} <= tables


def test_constraint_names_follow_the_convention(committed_engine: Engine) -> None:
    insp = inspect(committed_engine)
    fks = insp.get_foreign_keys("user_account")
    assert {fk["name"] for fk in fks} >= {"fk_user_account_institution_id_institution"}
    assert insp.get_pk_constraint("institution")["name"] == "pk_institution"


def test_core_0022_addresses_sms_to_patients_and_downgrades(tmp_path: Path) -> None:
    """Upgrade: `patient_id` (indexed), `user_id` nullable. Downgrade: an SMS to a patient
    without an account cannot be kept (every row needed an account then); in-app rows stay."""
    import uuid
    from datetime import UTC, datetime

    from alembic import command
    from sqlmodel import Session

    from telemed.core.notifications import enqueue, text_patient

    url = f"sqlite:///{tmp_path / 'notes.db'}"
    upgrade_database(url)
    engine = create_engine(url)
    cols = {c["name"]: c for c in inspect(engine).get_columns("notification")}
    assert cols["user_id"]["nullable"] and cols["patient_id"]["nullable"]
    indexes = {i["name"] for i in inspect(engine).get_indexes("notification")}
    assert "ix_notification_patient_id" in indexes
    now = datetime(2026, 12, 3, tzinfo=UTC)
    with Session(engine) as s:
        [in_app] = enqueue(session=s, user_id=uuid.uuid4(), kind="k", title="t", now=now)
        text_patient(session=s, patient_id=uuid.uuid4(), kind="k", title="t", now=now)
        s.commit()
        kept = in_app.id.hex

    command.downgrade(alembic_config(url), "0021")
    engine.dispose()
    cols = {c["name"]: c for c in inspect(engine).get_columns("notification")}
    assert "patient_id" not in cols and not cols["user_id"]["nullable"]
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT id FROM notification"))] == [kept]
    upgrade_database(url)  # and up again
    engine.dispose()
    assert "patient_id" in {c["name"] for c in inspect(engine).get_columns("notification")}
