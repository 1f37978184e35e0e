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
