"""`make run`'s path on a fresh SQLite database: migrate, seed, serve, read over HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port, wait_port
from tests.support.sqlite_runs import Built, development_env

pytestmark = pytest.mark.e2e


def test_fresh_sqlite_seed_and_serve(sqlite_demo: Built, tmp_path: Path) -> None:
    # The run's fresh SQLite after `db upgrade` and `seed --demo` (tests/conftest.py; the
    # seeding itself is checked by tests/demo_activity): run.sh migrates it, finds it
    # seeded, and serves it.
    seeded = sqlite_demo.result("demo")
    assert seeded.returncode == 0, seeded.stderr
    env = development_env(sqlite_demo.copy("demo", tmp_path / "telemed.db"))
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
        http = httpx.Client(base_url=base, timeout=30)  # a first request on a busy machine
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        summary = http.get("/api/v1/network/summary").json()
        assert (summary["network_hospitals"], summary["alliances"]) == (131, 177)
        assert (summary["leagues"], summary["counties"]) == (12, 103)
        token = http.post(
            "/api/v1/auth/token", data={"username": "county-doctor", "password": "telemed-demo"}
        )
        assert token.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
