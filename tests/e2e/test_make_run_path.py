"""`make run`'s path on a fresh SQLite database: migrate, seed, serve, read over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port, wait_port

pytestmark = pytest.mark.e2e


def test_fresh_sqlite_seed_and_serve(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEMED_ENV": "development",
        "TELEMED_DATABASE_URL": f"sqlite:///{tmp_path / 'telemed.db'}",
        "TELEMED_LOG_LEVEL": "WARNING",
    }
    env.pop("TELEMED_SECRET_KEY", None)
    run_script = Path(__file__).resolve().parents[2] / "scripts" / "run.sh"
    port = free_port()
    proc = subprocess.Popen(
        ["bash", str(run_script)],
        env={**env, "PORT": str(port), "TELEMED_PYTHON": sys.executable},
        cwd=tmp_path,
    )
    try:
        wait_port(port, timeout=300)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
        summary = httpx.get(f"{base}/api/v1/network/summary").json()
        assert (summary["network_hospitals"], summary["alliances"]) == (131, 177)
        assert (summary["leagues"], summary["counties"]) == (12, 103)
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "county-doctor", "password": "telemed-demo"},
        )
        assert token.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
