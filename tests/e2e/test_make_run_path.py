"""`make run`'s path on a fresh SQLite database: migrate, seed, serve, read over HTTP."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from telemed.video import janus_dev
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
    port, janus_port, janus_admin = free_port(), free_port(), free_port()
    low = 30000 + (janus_port % 1000) * 20  # a private RTP range (other tests run Janus too)
    janus_env = {"TELEMED_JANUS_PORT": str(janus_port), "TELEMED_JANUS_ADMIN_PORT":
                 str(janus_admin), "TELEMED_JANUS_RTP_PORTS": f"{low}-{low + 19}"}  # fmt: skip
    proc = subprocess.Popen(
        ["bash", str(run_script)],
        env={**env, **janus_env, "PORT": str(port), "TELEMED_PYTHON": sys.executable},
        cwd=tmp_path,
        stdout=(tmp_path / "run.out").open("w"),
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
        if janus_dev.available():
            # Janus installed: run.sh started it and the server uses it for rooms beyond a pair
            info = httpx.get(f"http://127.0.0.1:{janus_port}/janus/info", timeout=10).json()
            assert info["server-name"] == "telemed-dev"
            specialist = http.post(
                "/api/v1/auth/token", data={"username": "specialist", "password": "telemed-demo"}
            ).json()["access_token"]
            now = datetime.now(UTC)
            room = http.post(
                "/api/v1/rooms",
                headers={"Authorization": f"Bearer {specialist}"},
                json={"title": "MDT", "max_participants": 12,
                      "starts_at": (now + timedelta(minutes=5)).isoformat(),
                      "ends_at": (now + timedelta(minutes=35)).isoformat()},
            )  # fmt: skip
            assert room.status_code == 201, room.text
            assert (room.json()["mode"], room.json()["sfu_configured"]) == ("janus", True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    out = (tmp_path / "run.out").read_text()
    said = "Janus (the SFU) is used" if janus_dev.available() else "Janus is not installed"
    assert said in out, out
