"""SQLite databases built by the real `telemed` command once per test run, step by step.

`make run`'s path (migrate, seed the demo, replay its month of activity) costs a minute of
subprocesses; the tests of that path share one build: `built(name, env, steps)` runs the
steps on a fresh file in the first process of the run that asks, keeps a snapshot of the
file after each step and every step's exit code and output, and hands them to each caller.
Tests copy a snapshot before they write to it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import shared

REPO = Path(__file__).resolve().parents[2]


def cli(
    *args: str, env: dict[str, str], cwd: Path = REPO, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`python -m telemed.cli ARGS` in `env`, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "telemed.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def development_env(db: Path) -> dict[str, str]:
    """`make run`'s environment on the SQLite file `db` (the development default secret)."""
    env = {
        **os.environ,
        "TELEMED_ENV": "development",
        "TELEMED_DATABASE_URL": f"sqlite:///{db}",
        "TELEMED_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env.pop("TELEMED_SECRET_KEY", None)
    return env


def copy_database(source: Path, target: Path) -> Path:
    """Copy a SQLite database (its write-ahead log included) to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


@dataclass(frozen=True)
class Built:
    """The snapshots and command results of one build."""

    directory: Path
    results: dict[str, dict[str, Any]]

    def path(self, step: str) -> Path:
        """The database as it was after `step` (read it; copy it before writing)."""
        return self.directory / f"{step}.db"

    def result(self, step: str) -> subprocess.CompletedProcess[str]:
        """What the command of `step` returned."""
        r = self.results[step]
        return subprocess.CompletedProcess(r["args"], r["returncode"], r["stdout"], r["stderr"])

    def copy(self, step: str, target: Path) -> Path:
        """A private copy of the database after `step`, at `target`."""
        return copy_database(self.path(step), target)


def built(
    name: str,
    env: Callable[[Path], dict[str, str]],
    steps: Sequence[tuple[str, Sequence[str]]],
) -> Built:
    """Run `steps` ((step name, CLI arguments), in order) on one fresh SQLite file, once
    per test run; a step that fails ends the build (later steps are not run)."""

    def build(base: Path) -> dict[str, Any]:
        directory = base / f"sqlite-{name}"
        directory.mkdir()
        db = directory / "work.db"
        results: dict[str, dict[str, Any]] = {}
        for step, args in steps:
            r = cli(*args, env=env(db))
            results[step] = {
                "args": r.args,
                "returncode": r.returncode,
                "stdout": r.stdout,
                "stderr": r.stderr,
            }
            if r.returncode != 0:
                break
            copy_database(db, directory / f"{step}.db")
        return {"directory": str(directory), "results": results}

    done = shared.once(f"sqlite-{name}", build)
    return Built(directory=Path(done["directory"]), results=done["results"])
