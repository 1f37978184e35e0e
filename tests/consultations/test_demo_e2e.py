"""`telemed demo` against a served app: fresh SQLite, demo seed, uvicorn on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ports import free_port, wait_port
from tests.support.sqlite_runs import Built, development_env

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def test_demo_story_over_http(sqlite_demo: Built, tmp_path: Path) -> None:
    # a fresh SQLite after `db upgrade` and `seed --demo`, built once per run (tests/conftest.py)
    seeded = sqlite_demo.result("demo")
    assert seeded.returncode == 0, seeded.stderr
    env = development_env(sqlite_demo.copy("demo", tmp_path / "telemed.db"))
    cli = [sys.executable, "-m", "telemed.cli"]
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, cwd=tmp_path)
    try:
        wait_port(port, timeout=120)
        run = subprocess.run(
            [*cli, "demo", "--server", f"http://127.0.0.1:{port}"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        out = run.stdout
        for step in (
            "STOW-RS",
            "proposes a specialist",
            "specialist accepts",
            "DICOMweb",
            "signs the opinion",
            "receives the opinion",
            "signature verifies",
        ):
            assert step in out, out
        assert "demo completed: every step succeeded" in out
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_demo_exits_non_zero_when_a_step_fails(tmp_path: Path) -> None:
    nobody = free_port()
    run = subprocess.run(
        [sys.executable, "-m", "telemed.cli", "demo", "--server", f"http://127.0.0.1:{nobody}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert run.returncode == 1
    assert "demo FAILED" in run.stderr
