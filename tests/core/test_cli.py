from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telemed.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_seed_is_refused_outside_development(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEMED_ENV": "production",
        "TELEMED_SECRET_KEY": "k" * 32,
        "TELEMED_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
    }
    assert _cli("db", "upgrade", env=env).returncode == 0
    r = _cli("seed", "--demo", env=env)
    assert r.returncode == 2 and "development" in r.stderr


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEMED_ENV": "production",
        "TELEMED_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
    }
    env.pop("TELEMED_SECRET_KEY", None)
    r = _cli("db", "upgrade", env=env)
    assert r.returncode != 0 and "TELEMED_SECRET_KEY" in r.stderr


def test_users_create_makes_a_user_who_can_log_in(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEMED_ENV": "production",
        "TELEMED_SECRET_KEY": "k" * 32,
        "TELEMED_DATABASE_URL": f"sqlite:///{tmp_path / 'u.db'}",
        "TELEMED_NEW_PASSWORD": "first-admin-pw",
    }
    assert _cli("db", "upgrade", env=env).returncode == 0
    r = _cli("users", "create", "root", "--role", "admin", "--name", "Root", env=env)
    assert r.returncode == 0, r.stderr
    from sqlalchemy import create_engine
    from sqlmodel import Session, select

    from telemed.identity.models import User
    from telemed.identity.security import verify_password

    with Session(create_engine(env["TELEMED_DATABASE_URL"])) as s:
        user = s.execute(select(User).where(User.username == "root")).scalar_one()
        assert user.role == "admin" and verify_password(user.password_hash, "first-admin-pw")
