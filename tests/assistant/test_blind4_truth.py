"""The blind4 held-out set: every question gets a computed truth over its own store (no model is run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.bench.ask_eval import BLIND_SETS, blind_questions, build_store, load_questions


@pytest.mark.parametrize("strict", [False, True])
def test_every_blind4_question_has_a_computed_truth(tmp_path: Path, strict: bool) -> None:
    questions_path, store_path = BLIND_SETS["blind4"]
    st = build_store(tmp_path, store_path)
    raw = load_questions(questions_path)
    assert 45 <= len(raw) <= 50
    assert len({q["id"] for q in raw}) == len(raw)
    qs = blind_questions(st, "blind4", strict=strict)
    assert len(qs) == len(raw)
    for q in qs:
        assert q["outcome"] in ("answered", "unanswerable"), q["id"]
        if q["outcome"] == "answered":
            assert q["contains"], q["id"]
            assert not set(q["contains"]) & set(q["absent"]), q["id"]
        else:
            assert q["contains"] == [], q["id"]
