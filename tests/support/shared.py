"""What the processes of one test run share (the pytest-xdist workers and their controller).

The controller (or a run without xdist) makes a scratch directory in `pytest_configure` and
names it in TELEMED_TEST_SHARED_DIR, which the workers inherit. `once(name, build)` runs
`build` in the first process that asks, under a file lock, and hands its JSON result to
every later caller; `ended()` (the controller's `pytest_unconfigure`) runs what the builds
registered to tear down and removes the directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ENV = "TELEMED_TEST_SHARED_DIR"
_CLEANUP = "cleanup.json"


def begin() -> Path:
    """Make this run's shared directory (the controller, once)."""
    path = Path(tempfile.mkdtemp(prefix="telemed-run-"))
    os.environ[ENV] = str(path)
    return path


def directory() -> Path:
    """The run's shared directory."""
    value = os.environ.get(ENV)
    if not value:
        raise RuntimeError(f"{ENV} is not set: tests/conftest.py's pytest_configure sets it")
    return Path(value)


@contextmanager
def locked(name: str) -> Iterator[Path]:
    """Hold the run-wide lock `name` (other processes wait); yields the shared directory."""
    base = directory()
    with (base / f"{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield base
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def once(name: str, build: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """`build(shared_dir)` in the first process that asks; its result for every caller.

    A build that failed is tried again by the next caller (and fails the same way)."""
    with locked(name) as base:
        done = base / f"{name}.json"
        if done.exists():
            return dict(json.loads(done.read_text()))
        result = build(base)
        done.write_text(json.dumps(result))
        return result


def on_end(kind: str, **params: Any) -> None:
    """Register teardown work for `ended()` (kinds are handled by the caller of `ended`)."""
    with locked("cleanup") as base:
        path = base / _CLEANUP
        items = json.loads(path.read_text()) if path.exists() else []
        items.append({"kind": kind, **params})
        path.write_text(json.dumps(items))


def ended(handlers: dict[str, Callable[..., None]]) -> None:
    """Run the registered teardowns (newest first) and remove the shared directory."""
    value = os.environ.get(ENV)
    if not value:
        return
    base = Path(value)
    path = base / _CLEANUP
    items = json.loads(path.read_text()) if path.exists() else []
    for item in reversed(items):
        kind = item.pop("kind")
        handlers[kind](**item)
    shutil.rmtree(base, ignore_errors=True)
