"""The layout keeps the rules of docs/architecture.md: short modules, no import cycles, no
private names taken from another module, routers imported only by the entry points, a core
that imports no domain. The figures come from scripts/architecture_report.py, which reads the
source itself (function-level imports included, so a hidden cycle is still a cycle)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location(
        "architecture_report", ROOT / "scripts" / "architecture_report.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["architecture_report"] = module
    spec.loader.exec_module(module)
    return module.build()


def test_no_python_module_outside_migrations_is_over_500_lines(report):
    assert report.long_python == {}


def test_no_frontend_source_outside_i18n_is_over_500_lines(report):
    assert report.long_frontend == {}


def test_there_are_no_import_cycles(report):
    assert report.cycles == []


def test_no_module_imports_a_private_name_of_another(report):
    assert report.private_imports == []


def test_only_the_entry_points_import_routers(report):
    assert report.router_imports == []


def test_core_imports_no_domain(report):
    assert report.core_imports_domain == []


def test_the_report_sees_a_cycle_hidden_in_a_function(tmp_path, monkeypatch, report):
    """The checker itself can fail: two modules importing each other, one lazily, are a cycle."""
    mod = sys.modules["architecture_report"]
    pkg = tmp_path / "telemed"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from telemed.b import g\n\ndef f():\n    return g()\n")
    (pkg / "b.py").write_text("def g():\n    from telemed.a import f\n    return f\n")
    (tmp_path / "frontend" / "src").mkdir(parents=True)
    monkeypatch.setattr(mod, "ROOT", tmp_path)
    monkeypatch.setattr(mod, "PACKAGES", ("telemed",))
    assert mod.build().cycles == [["telemed.a", "telemed.b"]]
