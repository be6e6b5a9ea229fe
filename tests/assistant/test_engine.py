"""The assistant on a real llama.cpp with a tiny random-weight GGUF: loading, streaming, constrained tool
calls, the retry-then-"I could not" path, the empty store, prefix reuse and the load-time error paths.

The tiny model's text is noise; what is checked is the machinery around it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")

from edgekit.assistant.agent import EMPTY_STORE_ANSWER, Assistant, ChatSession
from edgekit.assistant.engine import LlamaEngine
from edgekit.assistant.loader import load_model
from edgekit.assistant.settings import LLMSettings
from edgekit.assistant.tiny_gguf import write_tiny_gguf
from edgekit.assistant.tools import TOOLS, ToolBox
from edgekit.errors import EdgekitError
from edgekit.events import EventStore
from edgekit.types import Event

SETTINGS = LLMSettings(threads=1, n_ctx=8192, n_batch=256)
NOW = datetime.now().astimezone()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(scope="module")
def engine(tiny: Path) -> Any:
    with LlamaEngine(tiny, SETTINGS) as e:
        yield e


@pytest.fixture()
def store(tmp_path: Path) -> EventStore:
    s = EventStore(tmp_path / "events.db")
    for i, label in enumerate(["Fall", "Normal", "Fall"]):
        s.add(Event(rule="r", source="gate", label=label, score=0.9, box=(0, 0, 9, 9),
                    start_ts=(NOW - timedelta(minutes=i)).timestamp()))
    return s


def test_streams_pieces_up_to_max_tokens(engine: LlamaEngine) -> None:
    pieces = list(engine.chat_stream([{"role": "user", "content": "hello"}], max_tokens=8))
    assert 1 <= len(pieces) <= 8
    assert all(isinstance(p, str) for p in pieces)


def test_schema_constrained_output_is_a_valid_tool_call(engine: LlamaEngine, store: EventStore) -> None:
    tb = ToolBox(store)
    raw = "".join(engine.chat_stream([{"role": "user", "content": "count"}], schema=tb.call_schema(),
                                     max_tokens=300))
    call = json.loads(raw)  # the grammar allows nothing else, even from random weights
    name, _args = tb.parse(call)
    assert name in TOOLS


def test_ask_records_the_tool_call_and_its_result(engine: LlamaEngine, store: EventStore) -> None:
    tb = ToolBox(store)
    pieces: list[str] = []
    t = Assistant(engine, tb, max_answer_tokens=12).ask("how many falls?", on_token=pieces.append)
    assert t.outcome in ("answered", "empty_store")
    call = t.tool_calls[0]
    assert call.error is None and call.tool in TOOLS
    name, args = tb.parse(json.loads(call.raw))
    if name != "device_status":  # cpu% and free memory change between two calls
        assert call.result == tb.run(name, args)
    assert "".join(pieces) == t.answer
    json.dumps(t.to_dict())  # --json and MQTT serialise it


class _UnconstrainedTools(ToolBox):
    """A schema that lets the model write any JSON object: the tiny model's calls then fail validation."""

    def call_schema(self, hints: Any = None) -> dict[str, Any]:
        return {"type": "object", "properties": {"tool": {"type": "string", "maxLength": 12}}, "required": ["tool"]}


def test_bad_call_is_reported_once_then_i_could_not(engine: LlamaEngine, store: EventStore) -> None:
    t = Assistant(engine, _UnconstrainedTools(store)).ask("how many falls?")
    assert t.outcome == "no_valid_tool_call"
    assert len(t.tool_calls) == 2 and all(c.error for c in t.tool_calls)
    assert t.answer.startswith("I could not answer that")
    assert t.tool_calls[1].error in t.answer


def test_empty_store_gives_a_clear_answer(engine: LlamaEngine, tmp_path: Path) -> None:
    tb = ToolBox(EventStore(tmp_path / "empty.db"), allowed=("count_events",))
    t = Assistant(engine, tb).ask("how many falls today?")
    assert t.outcome == "empty_store"
    assert t.answer == EMPTY_STORE_ANSWER
    assert t.tool_calls[0].tool == "count_events"


def test_fixed_prompts_are_evaluated_once_and_restored(engine: LlamaEngine, store: EventStore) -> None:
    a = Assistant(engine, ToolBox(store), max_answer_tokens=4)
    kept = [tokens for tokens, _state in engine._prefixes[-2:]]
    assert a.prefix_tokens == sum(len(k) for k in kept) > 100
    before = engine.prefix_loads
    a.ask("how many falls?")
    # the tool prompt and the answer prompt each start from a kept state instead of evaluating it again
    assert engine.prefix_loads >= before + 1
    held = list(engine.llm._input_ids[: engine.llm.n_tokens])
    assert any(held[: len(k)] == k for k in kept)


def test_chat_session_keeps_bounded_history(engine: LlamaEngine, store: EventStore) -> None:
    s = ChatSession(Assistant(engine, ToolBox(store), max_answer_tokens=4), max_turns=1)
    for q in ("one", "two", "three"):
        s.ask(q)
    assert [t.question for t in s.history] == ["one", "two", "three"]


# load-time errors: one line, before anything heavy ------------------------------------------------------
def test_base_model_without_chat_template_is_refused(tmp_path: Path) -> None:
    base = write_tiny_gguf(tmp_path / "base.gguf", chat_template=None)
    with pytest.raises(EdgekitError, match="no chat template"):
        load_model(base, SETTINGS)


def test_context_over_budget_is_refused_before_loading(tiny: Path) -> None:
    with pytest.raises(EdgekitError, match=r"allows 40 MB for the LLM: use a smaller model"):
        load_model(tiny, LLMSettings(n_ctx=1024, llm_budget_mb=40, profile="rpi4"))


def test_truncated_tensor_data_is_a_clear_error(tiny: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny.read_bytes()[:-100_000])
    with pytest.raises(EdgekitError, match=r"could not load|not a usable GGUF"):
        load_model(cut, SETTINGS)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(EdgekitError, match="GGUF file not found"):
        load_model(tmp_path / "nope.gguf", SETTINGS)
