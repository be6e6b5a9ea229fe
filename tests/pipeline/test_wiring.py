"""The daemon and the dashboard are wired by their constructors (read from the source with ``ast``).

In ``edgekit/pipeline`` and ``edgekit/web`` no code sets an attribute of another object (a collaborator's callback
or service goes in through its constructor), and no attribute or constructor argument is typed ``Any`` (a service is
typed by its class or a Protocol). A few objects of other libraries are configured by setting their attributes;
they are listed below, each with why.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO

PACKAGES = ("pipeline", "web")
EDGEKIT = REPO / "edgekit"

SETTABLE = {
    ("pipeline/camera.py", "self.stats"): "the worker's own counters, a plain dataclass it creates for readers",
    ("pipeline/clips.py", "frame"): "PyAV: a VideoFrame's pts and time_base are set by assignment",
    ("pipeline/clips.py", "s"): "PyAV: a new stream's size and pixel format are set by assignment",
    ("pipeline/clips.py", "s.codec_context"): "PyAV: the encoder's time base and GOP are set by assignment",
    ("pipeline/clips.py", "p"): "PyAV: a remuxed packet's pts, dts and stream are set by assignment",
    ("pipeline/metrics.py", "self._server"): "http.server: daemon_threads is a class option set per server",
    ("pipeline/shutdown.py", "self._timer"): "threading.Timer takes no daemon argument",
    ("web/server.py", "self._server"): "uvicorn: should_exit is how a running Server is told to stop",
}
"""(file under edgekit/, the object whose attributes are set there) -> why that is the library's way."""

ANY_TYPED = {
    ("pipeline/clips.py", "self._out"): "PyAV's output container of the open segment (an optional library's file)",
    ("pipeline/clips.py", "self._stream"): "PyAV's stream of the open segment",
}
"""(file under edgekit/, the attribute) -> why it is typed Any."""


def sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (EDGEKIT / pkg).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(EDGEKIT).as_posix()


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def foreign_assignments(source: str, rel: str) -> list[str]:
    """``obj.attr = ...`` (or ``+=``, or ``setattr(obj, ...)``) where ``obj`` is not ``self``/``cls``, in the
    source of ``edgekit/<rel>``."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, rel)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" \
                and node.args and not _is_self(node.args[0]):
            out.append((node.lineno, f"{rel}:{node.lineno}: {ast.unparse(node)}"))
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and isinstance(t.ctx, ast.Store) and not _is_self(t.value) \
                        and (rel, ast.unparse(t.value)) not in SETTABLE:
                    out.append((t.lineno, f"{rel}:{t.lineno}: {ast.unparse(t)} = ..."))
    return [text for _, text in sorted(out)]


def _is_any(annotation: ast.expr | None) -> bool:
    """``Any``, ``Any | None``, ``Optional[Any]`` (also as strings)."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return _is_any(ast.parse(annotation.value, mode="eval").body)
    text = ast.unparse(annotation).replace(" ", "")
    return text in ("Any", "typing.Any", "Any|None", "None|Any", "Optional[Any]")


def any_typed(source: str, rel: str) -> list[str]:
    """Attributes (``self.x: Any``, class fields) and constructor arguments typed ``Any``, in ``edgekit/<rel>``."""
    out = []
    for cls in (n for n in ast.walk(ast.parse(source, rel)) if isinstance(n, ast.ClassDef)):
        for node in ast.walk(cls):
            if isinstance(node, ast.AnnAssign) and _is_any(node.annotation):
                name = ast.unparse(node.target)
                if (rel, name) not in ANY_TYPED:
                    out.append(f"{rel}:{node.lineno}: {cls.name}: {name}: {ast.unparse(node.annotation)}")
            if isinstance(node, ast.FunctionDef) and node.name == "__init__":
                a = node.args
                for arg in a.posonlyargs + a.args + a.kwonlyargs:
                    if _is_any(arg.annotation):
                        out.append(f"{rel}:{node.lineno}: {cls.name}(... {arg.arg}: Any ...)")
    return out


def test_no_attribute_of_another_object_is_set() -> None:
    found = [line for p in sources() for line in foreign_assignments(p.read_text(), _rel(p))]
    assert not found, "pass these in through the constructor instead:\n" + "\n".join(found)


def test_no_service_is_typed_any() -> None:
    found = [line for p in sources() for line in any_typed(p.read_text(), _rel(p))]
    assert not found, "type these by their class or a Protocol:\n" + "\n".join(found)


ABOVE_PIPELINE = ("edgekit.web", "edgekit.cli", "edgekit.deploy", "edgekit.bench")


def test_the_pipeline_imports_nothing_above_it() -> None:
    """Not even lazily: the dashboard is built above the pipeline and handed to the daemon as a Watcher."""
    found = []
    for p in sorted((EDGEKIT / "pipeline").rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{_rel(p)}:{node.lineno}: {n}" for n in names
                      if any(n == up or n.startswith(up + ".") for up in ABOVE_PIPELINE)]
    assert not found, found


SAMPLE = """\
from typing import Any, Optional
class Daemon:
    uploader: 'Any | None' = None
    def __init__(self, events, dashboard: Any, stats: dict[str, Any]) -> None:
        self.metrics: Optional[Any] = None
        self.events = events
        events.link = self
        self.events.uploader = None
        self.count: int = 0
        self.count += 1
        setattr(events, 'on_stored', [])
        self.stats.captured += 1
    @classmethod
    def make(cls) -> None:
        cls.made = True
"""


def test_the_scans_flag_what_the_daemon_did() -> None:
    """The wiring these tests exist against (as the daemon had it) is flagged; what is allowed is not."""
    assert foreign_assignments(SAMPLE, "pipeline/daemon.py") == [
        "pipeline/daemon.py:7: events.link = ...", "pipeline/daemon.py:8: self.events.uploader = ...",
        "pipeline/daemon.py:11: setattr(events, 'on_stored', [])", "pipeline/daemon.py:12: self.stats.captured = ...",
    ]
    # the worker's own counters are allowed where they are kept
    assert foreign_assignments(SAMPLE, "pipeline/camera.py")[-1].startswith("pipeline/camera.py:11: setattr")
    assert sorted(any_typed(SAMPLE, "pipeline/daemon.py")) == [
        "pipeline/daemon.py:3: Daemon: uploader: 'Any | None'",
        "pipeline/daemon.py:4: Daemon(... dashboard: Any ...)",
        "pipeline/daemon.py:5: Daemon: self.metrics: Optional[Any]",
    ]
