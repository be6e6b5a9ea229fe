"""The blind sets (issue 13): every question's truth is computable from its own store, without a model.

Builds each ``<name>_store.yaml`` and computes each question's expected items with :mod:`benchmarks.lib.eval_truth`,
leniently and strictly, as a scored run will. A question that ties, matches nothing or names a missing stats field
fails here instead of surfacing in that run. The answers are deliberately not written down: the sets stay blind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.lib.ask_eval import BLIND_SETS, blind_questions, build_store, load_questions


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("name", list(BLIND_SETS))
def test_every_question_has_a_computed_truth(tmp_path: Path, name: str, strict: bool) -> None:
    questions_path, store_path = BLIND_SETS[name]
    st = build_store(tmp_path, store_path)
    raw = load_questions(questions_path)
    assert 45 <= len(raw) <= 55
    assert len({q["id"] for q in raw}) == len(raw)
    qs = blind_questions(st, name, strict=strict)  # raises TruthError if a question is ill-posed
    assert len(qs) == len(raw)
    for q in qs:
        if q["outcome"] == "answered":
            assert q["contains"] and not set(q["contains"]) & set(q["absent"]), q["id"]
        else:
            assert q["outcome"] == "unanswerable" and q["contains"] == [], q["id"]


def test_each_blind_store_has_its_own_zone_or_weekday(tmp_path: Path) -> None:
    seen = set()
    for name, (_, store_path) in BLIND_SETS.items():
        now = build_store(tmp_path / name, store_path).now
        seen.add((now.utcoffset(), now.strftime("%A")))
    assert len(seen) == len(BLIND_SETS)
