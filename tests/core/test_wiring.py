"""Every entry point runs with the same cross-domain hooks (`telemed.wiring.wire`).

The app, the `telemed` command and a bare interpreter that only wires are compared in fresh
processes: a hook registered as a side effect of importing a router (as the consultation
resolvers once were) shows up as a difference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Every module-level list, dict or set of our packages that holds functions (the hook
# registries, wherever they live), by module and name: what it holds, as qualified names.
SNAPSHOT = """
import json, sys, types

def names(value, depth=0):
    if isinstance(value, (types.FunctionType, types.MethodType)):
        return [f"{value.__module__}.{value.__qualname__}"]
    if depth > 2:
        return []
    if isinstance(value, dict):
        return [f"{k}:{n}" for k, v in value.items() for n in names(v, depth + 1) or [""]]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [n for v in value for n in names(v, depth + 1)]
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        return [f"{type(value).__module__}.{type(value).__qualname__}"]
    return []

OURS = ("telemed", "dicom", "scheduling", "referrals")

def snapshot():
    out = {}
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or mod_name.split(".")[0] not in OURS:
            continue
        for attr, value in list(vars(mod).items()):
            if attr.startswith("__") or not isinstance(value, (dict, list, set)):
                continue
            found = sorted(names(value))
            if any("." in n for n in found):
                out[f"{mod_name}.{attr}"] = found
    return out
"""

ENTRIES = {
    "app": "from telemed.app import create_app\ncreate_app()",
    # the command's own start (its callback runs before any sub-command, even for --help)
    "cli": (
        "from typer.testing import CliRunner\nfrom telemed.cli import app\n"
        "result = CliRunner().invoke(app, ['db', '--help'])\n"
        "assert result.exit_code == 0, result.output"
    ),
    "wire": "from telemed.wiring import wire\nwire()",
}


def _hooks(entry: str) -> dict[str, list[str]]:
    script = SNAPSHOT + ENTRIES[entry] + "\nprint(json.dumps(snapshot()))\n"
    env = {**os.environ, "TELEMED_ENV": "test"}
    env.setdefault("TELEMED_SECRET_KEY", "test-secret-key-not-for-production")
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    hooks: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return hooks


def _common(a: dict[str, list[str]], b: dict[str, list[str]]) -> dict[str, list[str]]:
    """The registries both processes loaded (the app also loads routers of its own)."""
    return {k: v for k, v in a.items() if k in b}


def test_the_cli_runs_with_the_same_hooks_as_the_app() -> None:
    app, cli, wired = _hooks("app"), _hooks("cli"), _hooks("wire")
    # the registries are found at all: the consultation and referral resolvers are there
    participation = [v for k, v in wired.items() if k.endswith("permissions._resolvers")]
    assert participation, sorted(wired)
    assert any("participates_in_patient" in n for n in participation[0]), participation
    assert any(n.startswith("referrals.") for n in participation[0]), participation
    for k, v in wired.items():
        assert app.get(k) == v, f"{k}: the app has {app.get(k)}, wire() alone {v}"
        assert cli.get(k) == v, f"{k}: the CLI has {cli.get(k)}, wire() alone {v}"
    assert _common(app, cli) == _common(cli, app)
