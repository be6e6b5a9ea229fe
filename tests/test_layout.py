"""The package's shape, checked: the floors (no import runs up, lazy ones included), no import cycle between modules
or packages, no private name imported across modules, and at most six modules at the package root."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO

PKG = REPO / "edgekit"

# How the packages stand on each other, from the ground up. A package may import its own floor and the floors below,
# never one above (not even lazily inside a function). A helper needed by two floors moves down, never up.
FLOORS: list[tuple[str, ...]] = [
    # 1. the contract: core types, errors, paths, timing; the wire format every side shares (topics, payload, stats
    #    file, JPEG)
    ("types", "errors", "paths", "timing", "contract"),
    # 2. config (the one loader), frame sources, the event store, backends (the TensorRT engine builder too), device
    #    (profiles, cards, host, plan, state), storage (durable SQLite queues, S3)
    ("config", "sources", "events", "backends", "device", "storage"),
    # 3. what turns frames into detections, and what turns a model into a board's model
    ("vision", "export"),
    # 4. from detections to events (tracking), getting them out (delivery), and the fleet hub that receives them
    ("tracking", "delivery", "hub"),
    # 5. the assistant reads events and stats
    ("assistant",),
    # 6. camera workers and the daemon: services built and passed in by the constructor
    ("pipeline",),
    # 7. what stands on a running pipeline or drives one from outside
    ("deploy", "bench", "web", "image"),
    # 8. the command line on top
    ("cli",),
]
FLOOR = {pkg: i for i, floor in enumerate(FLOORS) for pkg in floor}


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


def _package(module: str) -> str:
    """``edgekit.tracking.rules`` → ``tracking``; a root module is its own package (``edgekit.types`` → ``types``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_package_stands_on_a_floor() -> None:
    packages = {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    roots = {p.stem for p in PKG.glob("*.py") if p.stem != "__init__"}
    assert packages | roots == set(FLOOR), f"not on a floor: {sorted((packages | roots) - set(FLOOR))}; " \
                                          f"on a floor but gone: {sorted(set(FLOOR) - (packages | roots))}"


def test_no_import_runs_up_a_floor() -> None:
    """Every import, module-level or inside a function, goes to the importer's floor or below."""
    up = sorted(
        f"{m} (floor {FLOOR[_package(m)] + 1}) imports {d} (floor {FLOOR[_package(d)] + 1})"
        for m, ds in _graph().items() if _package(m) in FLOOR
        for d in ds if _package(d) in FLOOR and FLOOR[_package(d)] > FLOOR[_package(m)]
    )
    assert not up, "\n".join(up)


def test_no_package_loop() -> None:
    """Packages on one floor may use each other, but never both ways round (directly or through others)."""
    deps: dict[str, set[str]] = {}
    for m, ds in _graph().items():
        deps.setdefault(_package(m), set()).update(_package(d) for d in ds if _package(d) != _package(m))
    loops = [(a, b) for a in deps for b in deps[a] if _reaches(deps, b, a)]
    assert not loops, sorted(loops)


def _reaches(deps: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        v = todo.pop()
        if v == goal:
            return True
        if v not in seen:
            seen.add(v)
            todo += deps.get(v, ())
    return False


def test_the_floor_test_sees_lazy_imports(tmp_path: Path) -> None:
    """The graph counts an import inside a function (the kind that hides an upward arrow until run time)."""
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from edgekit.cli.main import app\n    return app\n")
    assert ("edgekit.cli.main", "app") in _imports(f, _modules())


def test_package_root_keeps_only_the_core() -> None:
    root = sorted(p.name for p in PKG.glob("*.py"))
    assert 4 <= len(root) <= 6, root


def test_tests_mirror_the_package() -> None:
    packages = {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    folders = {p.name for p in (REPO / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    assert folders <= packages, f"test folders without a package: {sorted(folders - packages)}"
