"""A real uvicorn process serving the app, for tests that need real HTTP and workers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

from tests.support.ports import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]


# The run's test-only costs (tests/conftest.py): cheap argon2, refusals answered at once.
TEST_COSTS = (
    "TELEMED_SECURITY__ARGON2_TIME_COST",
    "TELEMED_SECURITY__ARGON2_MEMORY_KIB",
    "TELEMED_SECURITY__LOGIN_REFUSAL_DELAY_SECONDS",
)


def app_env(**settings: str) -> dict[str, str]:
    """The environment of a served app: ours without any TELEMED_* but the test secret and
    the test-only costs, plus `settings` (e.g. TELEMED_DATABASE_URL=...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_") or k in TEST_COSTS}
    env.update(
        TELEMED_ENV="test",
        TELEMED_SECRET_KEY=os.environ["TELEMED_SECRET_KEY"],
        TELEMED_LOG_LEVEL="WARNING",
        TELEMED_CONSULTATIONS__SWEEP_ENABLED="false",
    )
    env.update(settings)
    return env


@contextmanager
def serve(
    env: dict[str, str],
    log: IO[str] | None = None,
    *,
    app: str = "telemed.app:create_app",
    workers: int = 1,
    start_timeout: float = 120,
    port: int | None = None,
) -> Iterator[str]:
    """The app factory `app` on a free loopback port (or `port`, when the app must know
    its own address beforehand); yields its base URL. Without `log` the server's output
    goes to ours."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--factory", "--workers", str(workers)]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        + ["--no-access-log"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
    )
    try:
        wait_port(port, timeout=start_timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def instances(
    database_url: str, tmp_path: Path, count: int = 2, **settings: str
) -> Iterator[list[str]]:
    """`count` app instances (separate processes) on the same database, each logging to
    tmp_path/server<i>.log, with `settings` (TELEMED_* variables) on top of the test's."""
    env = {
        **os.environ,
        "TELEMED_ENV": "test",
        "TELEMED_DATABASE_URL": database_url,
        "TELEMED_FRONTEND_DIR": str(tmp_path),
        "TELEMED_DICOM__ARCHIVE_DIR": str(tmp_path / "archive"),
        "TELEMED_DICOM__SPOOL_DIR": str(tmp_path / "spool"),
        "TELEMED_DICOM__GATEWAY_ENABLED": "false",
        **settings,
    }
    with ExitStack() as stack:
        urls = []
        for i in range(count):
            log = stack.enter_context((tmp_path / f"server{i}.log").open("w"))
            urls.append(stack.enter_context(serve(env, log)))
        yield urls
