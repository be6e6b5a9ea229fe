"""The package's shape, checked: no import cycle, no private name imported across modules, backends never import
export, nothing below the CLI imports it, at most six modules at the package root."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO

PKG = REPO / "edgekit"


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        name = ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        out[name] = p
    return out


def _imports(path: Path, mods: dict[str, Path]) -> list[tuple[str, str]]:
    """(imported module, imported name or '') for every absolute edgekit import in ``path``."""
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("edgekit"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.append((sub, "") if sub in mods else (node.module, a.name))
        elif isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names if a.name.startswith("edgekit")]
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {
        m: {d for d, _ in _imports(p, mods) if d in mods and d != m and not d.startswith(m + ".")}
        for m, p in mods.items()
    }


def test_no_import_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(v: str, stack: list[str]) -> None:
        state[v] = 1
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                cycles.append([*stack[stack.index(w):], w])
            elif w not in state:
                visit(w, [*stack, w])
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v, [v])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles[:5])


def test_no_private_name_across_modules() -> None:
    mods = _modules()
    bad = [
        f"{p.relative_to(REPO)}: {mod}.{name}"
        for m, p in mods.items()
        for mod, name in _imports(p, mods)
        if name.startswith("_") and not name.startswith("__") and mod != m
    ]
    assert not bad, bad


def test_layers() -> None:
    graph = _graph()
    backends_to_export = [(m, d) for m, ds in graph.items() if m.startswith("edgekit.backends") for d in ds
                          if d.startswith("edgekit.export")]
    into_cli = [(m, d) for m, ds in graph.items() if not m.startswith("edgekit.cli") for d in ds
                if d.startswith("edgekit.cli")]
    assert not backends_to_export, backends_to_export
    assert not into_cli, into_cli


def test_package_root_keeps_only_the_core() -> None:
    root = sorted(p.name for p in PKG.glob("*.py"))
    assert len(root) <= 6, root


def test_tests_mirror_the_package() -> None:
    packages = {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    folders = {p.name for p in (REPO / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    assert folders <= packages, f"test folders without a package: {sorted(folders - packages)}"
