"""The harness asks conversations turn by turn through one chat session and scores each turn's figures and
language (a small hand-made set over store.yaml, tests/assistant/eval/convo_questions.yaml; never blind5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.lib.ask_eval import EVAL_DIR, answer_language, evaluate_truth_set, score
from edgekit.assistant.agent import Assistant, Transcript

SET = EVAL_DIR / "convo_questions.yaml"


class Forgetful:
    """The real assistant, made to forget the conversation: what a harness asking each turn alone would measure."""

    def __init__(self, inner: Assistant) -> None:
        self.inner = inner

    def ask(self, question: str, *, history: Any = (), on_token: Any = None) -> Transcript:
        return self.inner.ask(question, on_token=on_token)


def test_conversations_are_scored_turn_by_turn_with_their_language(tmp_path: Path) -> None:
    result = evaluate_truth_set(lambda tb: Assistant(None, tb), tmp_path, SET)
    rows = {r["id"]: r for r in result["rows"]}
    assert all(not r["problems"] for r in rows.values()), [r for r in rows.values() if r["problems"]]
    assert result["accuracy"]["truth"]["total"] == len(rows) == 16  # 12 turns of 5 conversations, 4 questions
    assert rows["convo-follow-1#3"]["answer"] == "1 Fall event on camera porch yesterday."
    assert rows["convo-lang-es#2"]["lang"] == "es" and rows["convo-lang-de#2"]["conversation"] == "convo-lang-de"
    assert "7,9" in rows["convo-es-fps"]["answer"]  # a decimal comma is the same figure


def test_a_harness_that_asked_each_turn_alone_would_fail_the_follow_ups(tmp_path: Path) -> None:
    result = evaluate_truth_set(lambda tb: Forgetful(Assistant(None, tb)), tmp_path, SET)  # type: ignore[arg-type]
    wrong = {r["id"] for r in result["rows"] if r["problems"]}
    assert {"convo-follow-1#2", "convo-follow-1#3", "convo-follow-2#2", "convo-lang-de#2"} <= wrong
    assert not wrong & {"convo-follow-1#1", "convo-es-last", "convo-en-fps"}  # first turns stand alone


def test_the_answer_language_is_scored() -> None:
    q = {"q": "¿Cuántas caídas hubo hoy?", "outcome": "answered", "contains": ["3"], "absent": [], "lang": "es"}
    english = Transcript(question=q["q"], answer="3 Fall events today.")
    assert score(q, english) == ["answer in en, expected es"]
    assert score(q, Transcript(question=q["q"], answer="Hoy hubo 3 eventos de tipo Fall.")) == []
    assert answer_language("Gestern gab es 2 Ereignisse vom Typ Fall.") == "de"
    assert answer_language("Camera porch: 7.9 frames/s processed.") == "en"  # no sign of another language
    assert score({**q, "lang": "en"}, english) == []
