"""The web client's API types (frontend/src/lib/api/schema.d.ts) are what the server's OpenAPI
generates today: a route or schema changed without `bash scripts/frontend.sh openapi` fails
here. The types come from openapi-typescript in frontend/node_modules, which the suite's
frontend build (scripts/test.sh) installs before pytest runs; this test installs nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"
COMMITTED = FRONTEND / "src" / "lib" / "api" / "schema.d.ts"
REGENERATE = "bash scripts/frontend.sh openapi"
BUILD = "run `bash scripts/frontend.sh build`"


def _frontend_dependencies_installed() -> None:
    """Fail (never install) when node_modules is missing or older than the lockfile."""
    stamp = FRONTEND / "node_modules" / ".deps-stamp"
    lock = hashlib.sha256((FRONTEND / "package-lock.json").read_bytes()).hexdigest()
    if not (FRONTEND / "node_modules" / ".bin" / "openapi-typescript").exists():
        pytest.fail(f"frontend/node_modules lacks openapi-typescript: {BUILD}")
    if not stamp.exists() or stamp.read_text().strip() != lock:
        pytest.fail(f"frontend/node_modules is older than package-lock.json: {BUILD}")


def _generate(out: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
    env["TELEMED_PYTHON"] = sys.executable
    done = subprocess.run(
        ["bash", "scripts/frontend.sh", "openapi", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out.read_text(encoding="utf-8")


def test_committed_api_types_match_the_servers_openapi(tmp_path: Path) -> None:
    _frontend_dependencies_installed()
    fresh = _generate(tmp_path / "schema.d.ts")
    assert "export interface paths" in fresh and '"/api/v1/auth/me"' in fresh
    assert fresh == COMMITTED.read_text(encoding="utf-8"), (
        f"{COMMITTED.relative_to(ROOT)} is stale: run `{REGENERATE}` and commit the result"
    )


def test_openapi_dump_is_sorted_and_ignores_the_callers_settings(tmp_path: Path) -> None:
    """The same sources give the same bytes, whatever TELEMED_* the caller has set."""
    out_a, out_b = tmp_path / "a.json", tmp_path / "b.json"
    script = str(ROOT / "scripts" / "openapi_dump.py")
    base = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
    odd = {**base, "TELEMED_ENV": "production", "TELEMED_API_DOCS": "false"}
    for out, env in ((out_a, base), (out_b, odd)):
        subprocess.run([sys.executable, script, str(out)], env=env, check=True, timeout=300)
    assert out_a.read_bytes() == out_b.read_bytes()
    spec = json.loads(out_a.read_text(encoding="utf-8"))
    assert list(spec["paths"]) == sorted(spec["paths"])
    specialties = spec["paths"]["/api/v1/network/specialties"]["get"]["responses"]["200"]
    schema = specialties["content"]["application/json"]["schema"]
    assert schema["items"] == {"$ref": "#/components/schemas/SpecialtyPublic"}
