from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import sqlite_runs


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telemed.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _production(**extra: str) -> dict[str, str]:
    """The test run's environment, as production: without the tests' cheap argon2 cost
    (which production refuses)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_SECURITY__ARGON2")}
    return {**env, "TELEMED_ENV": "production", **extra}


def _production_on(db: Path) -> dict[str, str]:
    """A production environment on the SQLite file `db`."""
    return _production(TELEMED_SECRET_KEY="k" * 32, TELEMED_DATABASE_URL=f"sqlite:///{db}")


@pytest.fixture
def migrated() -> Callable[[Path], dict[str, str]]:
    """Copies a fresh SQLite that `db upgrade` migrated in production (once per run) to a
    path; returns the production environment on the copy."""
    built = sqlite_runs.built("production", _production_on, [("migrated", ["db", "upgrade"])])
    assert built.result("migrated").returncode == 0, built.result("migrated").stderr

    def _copy(db: Path) -> dict[str, str]:
        return _production_on(built.copy("migrated", db))

    return _copy


def test_demo_seed_is_refused_outside_development(
    migrated: Callable[[Path], dict[str, str]], tmp_path: Path
) -> None:
    env = migrated(tmp_path / "p.db")
    r = _cli("seed", "--demo", env=env)
    assert r.returncode == 2 and "development" in r.stderr


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    env = _production(TELEMED_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}")
    env.pop("TELEMED_SECRET_KEY", None)
    r = _cli("db", "upgrade", env=env)
    assert r.returncode != 0 and "TELEMED_SECRET_KEY" in r.stderr


def test_users_create_makes_a_user_who_can_log_in(
    migrated: Callable[[Path], dict[str, str]], tmp_path: Path
) -> None:
    env = {**migrated(tmp_path / "u.db"), "TELEMED_NEW_PASSWORD": "Grassland-eagle-1947"}
    r = _cli("users", "create", "root", "--role", "admin", "--name", "Root", env=env)
    assert r.returncode == 0, r.stderr
    from sqlalchemy import create_engine
    from sqlmodel import Session, select

    from telemed.identity.models import User
    from telemed.identity.security import verify_password

    with Session(create_engine(env["TELEMED_DATABASE_URL"])) as s:
        user = s.execute(select(User).where(User.username == "root")).scalar_one()
        assert user.role == "admin" and verify_password(user.password_hash, "Grassland-eagle-1947")
    weak = _cli(
        "users",
        "create",
        "root2",
        "--role",
        "admin",
        "--name",
        "Root",
        env={**env, "TELEMED_NEW_PASSWORD": "password123"},
    )
    assert weak.returncode == 1 and "password_too_weak" in weak.stderr
