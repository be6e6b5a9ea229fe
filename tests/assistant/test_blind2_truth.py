"""The second blind held-out set (blind2, issue 13): every question's truth is computable from its store.

Fast and model-free: builds ``blind2_store.yaml`` and computes each question's expected items with
:mod:`edgekit.bench.eval_truth`, leniently and strictly, as the scored run will. A question that ties, matches
nothing or names a missing stats field raises here instead of surfacing in that run. The answers themselves are
deliberately not written down in this file: the set stays blind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.bench.ask_eval import EVAL_DIR, build_store, load_questions
from edgekit.bench.eval_truth import expected

STORE = EVAL_DIR / "blind2_store.yaml"
QUESTIONS = EVAL_DIR / "blind2_questions.yaml"


def test_store_differs_in_zone_and_weekday(tmp_path: Path) -> None:
    st = build_store(tmp_path, STORE)
    offset = st.now.utcoffset()
    assert offset is not None and offset.total_seconds() == 9.5 * 3600
    assert st.now.strftime("%A") == "Friday"


@pytest.mark.parametrize("strict", [False, True])
def test_every_question_has_a_computed_truth(tmp_path: Path, strict: bool) -> None:
    st = build_store(tmp_path, STORE)
    questions = load_questions(QUESTIONS)
    assert 45 <= len(questions) <= 55
    assert len({q["id"] for q in questions}) == len(questions)
    for q in questions:
        truth = expected(q["truth"], st.events, st.stats, st.now, strict=strict)  # raises TruthError if ill-posed
        if q["truth"]["op"] == "unanswerable":
            assert truth["outcome"] == "unanswerable" and not truth["contains"], q["id"]
        else:
            assert truth["outcome"] == "answered" and truth["contains"], q["id"]
