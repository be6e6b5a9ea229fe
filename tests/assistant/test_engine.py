"""The assistant on a real llama.cpp with a tiny random-weight GGUF: loading, streaming, the constrained op
choice, token/timing accounting, the empty store, prefix reuse and the load-time error paths.

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

from edgekit.assistant import prompts
from edgekit.assistant.agent import EMPTY_STORE_ANSWER, Assistant, ChatSession
from edgekit.assistant.engine import LlamaEngine
from edgekit.assistant.loader import load_model
from edgekit.assistant.settings import LLMSettings
from edgekit.assistant.tiny_gguf import write_tiny_gguf
from edgekit.assistant.tools import ToolBox
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


def test_schema_constrained_output_is_one_of_the_ops(engine: LlamaEngine) -> None:
    g = engine.generate(prompts.op_messages("falls on cam1"), schema=prompts.op_schema(), max_tokens=8)
    assert json.loads(g.text) in prompts.OPS  # the grammar allows nothing else, even from random weights
    assert g.tokens_in > 50 and 1 <= g.tokens_out <= 8 and 0 < g.ttft_s <= g.total_s


def test_open_op_goes_to_the_model_and_is_recorded(engine: LlamaEngine, store: EventStore) -> None:
    pieces: list[str] = []
    t = Assistant(engine, ToolBox(store)).ask("falls at the gate?", on_token=pieces.append)
    call = t.tool_calls[0]
    assert call.chosen_by == "model (op)" and call.args["op"] in prompts.OPS
    assert call.args["label"] == "Fall" and call.args["camera"] == "gate"  # fixed by the question, not the model
    assert t.outcome == "answered" and t.grounded
    assert t.llm.calls == 1 and t.llm.tokens_in > 0 and t.llm.tokens_out >= 1
    assert "".join(pieces) == t.answer
    json.dumps(t.to_dict())  # --json and MQTT serialise it


def test_stated_op_needs_no_model_call(engine: LlamaEngine, store: EventStore) -> None:
    t = Assistant(engine, ToolBox(store)).ask("how many falls?")
    assert t.llm.calls == 0 and t.tool_calls[0].chosen_by == "question"
    assert t.answer.startswith("2 Fall events")


def test_empty_store_gives_a_clear_answer(engine: LlamaEngine, tmp_path: Path) -> None:
    t = Assistant(engine, ToolBox(EventStore(tmp_path / "empty.db"))).ask("how many falls today?")
    assert t.outcome == "empty_store"
    assert t.answer == EMPTY_STORE_ANSWER


def test_fixed_prompt_is_evaluated_once_and_restored(engine: LlamaEngine, store: EventStore) -> None:
    a = Assistant(engine, ToolBox(store))
    a.ask("falls?")
    list(engine.chat_stream([{"role": "user", "content": "something else"}], max_tokens=2))
    before = engine.prefix_loads
    a.ask("falls at the gate?")
    assert engine.prefix_loads == before + 1  # the kept state was loaded instead of evaluating the prompt again


def test_chat_session_keeps_bounded_history(engine: LlamaEngine, store: EventStore) -> None:
    s = ChatSession(Assistant(engine, ToolBox(store)), max_turns=1)
    for q in ("how many falls?", "and today?", "hello"):
        s.ask(q)
    assert [t.question for t in s.history] == ["hello"]  # only the last max_turns turns are kept


# load-time errors: one line, before anything heavy ------------------------------------------------------
def test_base_model_without_chat_template_is_refused(tmp_path: Path) -> None:
    base = write_tiny_gguf(tmp_path / "base.gguf", chat_template=None)
    with pytest.raises(EdgekitError, match="no chat template"):
        load_model(base, SETTINGS)


def test_context_over_budget_is_refused_before_loading(tiny: Path) -> None:
    with pytest.raises(EdgekitError, match=r"allows 40 MB for the LLM: "):
        load_model(tiny, LLMSettings(n_ctx=1024, llm_budget_mb=40, profile="rpi4"))


def test_truncated_tensor_data_is_a_clear_error(tiny: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny.read_bytes()[:-100_000])
    with pytest.raises(EdgekitError, match=r"could not load|not a usable GGUF"):
        load_model(cut, SETTINGS)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(EdgekitError, match="GGUF file not found"):
        load_model(tmp_path / "nope.gguf", SETTINGS)


def test_prefix_state_on_disk_skips_the_evaluation_in_the_next_process(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    msgs = prompts.op_messages("falls on cam1")
    replies = []
    for _ in range(2):  # two engines stand for two `edgekit ask` processes
        with LlamaEngine(tiny, SETTINGS) as e:
            e.keep_prefix(prompts.op_prefix(), on_disk=True)
            replies.append((e.prefix_disk_hits, e.generate(msgs, schema=prompts.op_schema(), max_tokens=8).text))
    assert [hits for hits, _ in replies] == [0, 1]
    assert replies[0][1] == replies[1][1]  # greedy output is the same from the restored state
    (f,) = (tmp_path / "cache" / "llm-prefix").glob("*.npz")
    f.write_bytes(b"garbage")  # a damaged cache file is ignored, not fatal
    with LlamaEngine(tiny, SETTINGS) as e:
        e.keep_prefix(prompts.op_prefix(), on_disk=True)
        assert e.prefix_disk_hits == 0
