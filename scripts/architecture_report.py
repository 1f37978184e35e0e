"""The layout's figures: long modules, import cycles, cross-domain imports that break the rules.

`python scripts/architecture_report.py` prints them; `--json` prints them as JSON. The test
tests/test_architecture.py holds the code to the goals stated in docs/architecture.md.

Imports are read from the source (every `import`/`from … import`, also inside functions, since a
function-level import is how a cycle hides), except those under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("telemed", "dicom", "scheduling", "referrals")
LONG = 500
# The domains of ../shared/DESIGN.md §1 (and the small ones added since); core is the kernel.
DOMAINS = (
    "telemed.identity",
    "telemed.network",
    "telemed.consultations",
    "telemed.video",
    "telemed.reference",
    "telemed.dashboard",
    "telemed.fhir",
    "telemed.jobs",
    "telemed.inbox",
    "telemed.payments",
    "scheduling",
    "referrals",
    "dicom",
)
ENTRY_POINTS = ("telemed.app", "telemed.cli", "telemed.wiring")


@dataclass
class Report:
    long_python: dict[str, int] = field(default_factory=dict)
    long_frontend: dict[str, int] = field(default_factory=dict)
    cycles: list[list[str]] = field(default_factory=list)
    private_imports: list[str] = field(default_factory=list)
    router_imports: list[str] = field(default_factory=list)
    core_imports_domain: list[str] = field(default_factory=list)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "migrations" in rel.parts:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for sub in ast.walk(child):
                    if hasattr(sub, "lineno"):
                        lines.add(sub.lineno)
    return lines


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) for each import of the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    is_pkg = path.name == "__init__.py"
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    out.append((alias.name, []))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    out.append((sub, []))
                elif target in modules:
                    out.append((target, [alias.name]))
    return out


def _domain(module: str) -> str | None:
    for d in sorted(DOMAINS, key=len, reverse=True):
        if module == d or module.startswith(d + "."):
            return d
    if module == "telemed.core" or module.startswith("telemed.core."):
        return "telemed.core"
    return None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def build() -> Report:
    report = Report()
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > LONG:
            report.long_python[str(path.relative_to(ROOT))] = n
        mine = _domain(name)
        for target, names in _imports(name, path, modules):
            # A package's __init__ importing its own submodules is not a dependency of theirs.
            if target != name and not target.startswith(name + "."):
                graph[name].add(target)
            theirs = _domain(target)
            where = f"{name} -> {target}"
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                report.private_imports.append(f"{where}: {', '.join(private)}")
            leaf = target.rsplit(".", 1)[-1]
            if (leaf == "api" or leaf.startswith("api_")) and name not in ENTRY_POINTS:
                if _domain(name) != theirs or theirs is None:
                    report.router_imports.append(where)
            if mine == "telemed.core" and theirs not in (None, "telemed.core"):
                report.core_imports_domain.append(where)
    report.cycles = _cycles(graph)
    for path in sorted((ROOT / "frontend" / "src").rglob("*")):
        if (
            path.suffix not in (".vue", ".ts")
            or "i18n" in path.parts
            or path.name.endswith(".d.ts")
        ):
            continue
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > LONG:
            report.long_frontend[str(path.relative_to(ROOT))] = n
    return report


def main() -> None:
    report = build()
    if "--json" in sys.argv:
        print(json.dumps(report.__dict__, indent=2, ensure_ascii=False))
        return
    print(f"Python modules over {LONG} lines (outside migrations): {len(report.long_python)}")
    for path, n in sorted(report.long_python.items(), key=lambda kv: -kv[1]):
        print(f"  {n:5d} {path}")
    print(f"frontend sources over {LONG} lines (outside i18n): {len(report.long_frontend)}")
    for path, n in sorted(report.long_frontend.items(), key=lambda kv: -kv[1]):
        print(f"  {n:5d} {path}")
    print(f"import cycles: {len(report.cycles)}")
    for comp in report.cycles:
        print("  " + " <-> ".join(comp))
    print(f"private names imported from another module: {len(report.private_imports)}")
    for line in report.private_imports:
        print("  " + line)
    print(f"routers imported outside app/cli/wiring: {len(report.router_imports)}")
    for line in report.router_imports:
        print("  " + line)
    print(f"core importing a domain: {len(report.core_imports_domain)}")
    for line in report.core_imports_domain:
        print("  " + line)


if __name__ == "__main__":
    main()
