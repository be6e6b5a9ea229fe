"""The blind evaluation's truth: expected items computed from a real event store by plain SQL."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from benchmarks.lib.ask_eval import BLIND_SETS, blind_questions, build_store
from benchmarks.lib.eval_truth import TruthError, expected
from edgekit.contract.stats import CameraReport, DaemonStats, write_stats
from edgekit.events import EventStore
from edgekit.types import Event

NOW = datetime.fromisoformat("2026-01-01T10:00:00+02:00")  # local midnight is 22:00 UTC the day before


def _store(tmp_path: Path) -> tuple[Path, Path]:
    db, stats = tmp_path / "e.db", tmp_path / "s.json"
    rows = [("2025-12-31T23:30:00+02:00", "gate", "dog", 1), ("2026-01-01T00:30:00+02:00", "gate", "person", 2),
            ("2026-01-01T08:15:00+02:00", "yard", "person", 3), ("2026-01-01T09:45:00+02:00", "gate", "person", 4)]
    with EventStore(db) as s:
        s.add_many(Event(rule="r", source=cam, label=label, score=0.9, box=(0.0, 0.0, 1.0, 1.0), track_id=tr,
                         start_ts=datetime.fromisoformat(ts).timestamp()) for ts, cam, label, tr in rows)
    write_stats(stats, DaemonStats(ts=time.time(), rss=3 * 2**20, cpu_temp_c=48.25,
                                   cameras={"gate": CameraReport(process_fps=6.5, stage_ms={"infer": 99.5})}))
    return db, stats


def test_counts_times_and_groups_come_from_the_store(tmp_path: Path) -> None:
    db, stats = _store(tmp_path)
    today = {"since": "2026-01-01T00:00"}  # local time: the 23:30 dog is yesterday
    assert expected({"op": "count", **today}, db, stats, NOW)["contains"] == ["3"]
    assert expected({"op": "count", "label": "person", "camera": "gate"}, db, stats, NOW)["contains"] == ["2"]
    assert expected({"op": "last", "label": "person"}, db, stats, NOW)["contains"] == ["09:45", "gate"]
    assert expected({"op": "last", "camera": "gate", "offset": 1}, db, stats, NOW)["contains"] == ["00:30"]
    assert expected({"op": "first", "track": 3}, db, stats, NOW)["contains"] == ["08:15", "yard"]
    assert expected({"op": "list", "camera": "gate", **today}, db, stats, NOW)["contains"] == ["00:30", "09:45"]
    assert expected({"op": "most", "by": "camera"}, db, stats, NOW)["contains"] == ["gate"]
    # a camera with no dog counts as 0: the fewest
    assert expected({"op": "least", "by": "camera", "label": "dog"}, db, stats, NOW)["contains"] == ["yard"]
    assert expected({"op": "stat", "camera": "gate", "field": "infer_ms"}, db, stats, NOW)["contains"] == ["99.5"]
    assert expected({"op": "device", "field": "cpu_temp_c"}, db, stats, NOW)["contains"] == ["48.25"]
    assert expected({"op": "device", "field": "daemon_rss_mb"}, db, stats, NOW)["contains"] == ["3"]
    inj = expected({"op": "unanswerable", "absent": [7]}, db, stats, NOW)
    assert inj == {"outcome": "unanswerable", "contains": [], "absent": ["7"]}


def test_strict_truth_also_wants_the_filters_named_and_the_list_length(tmp_path: Path) -> None:
    db, stats = _store(tmp_path)
    spec = {"op": "list", "camera": "gate", "label": "person", "since": "2026-01-01T00:00"}
    assert expected(spec, db, stats, NOW)["contains"] == ["00:30", "09:45"]
    assert expected(spec, db, stats, NOW, strict=True)["contains"] == ["00:30", "09:45", "gate", "person", "2"]
    count = {"op": "count", "track": 3}
    assert expected(count, db, stats, NOW, strict=True)["contains"] == ["1", "3"]


def test_a_question_without_one_answer_is_refused(tmp_path: Path) -> None:
    db, stats = _store(tmp_path)
    with pytest.raises(TruthError, match="tie"):
        expected({"op": "most", "by": "hour", "since": "2026-01-01T00:00"}, db, stats, NOW)
    with pytest.raises(TruthError):
        expected({"op": "list", "label": "cat"}, db, stats, NOW)


def test_the_blind_set_is_large_and_every_question_has_one_answer(tmp_path: Path) -> None:
    qs = blind_questions(build_store(tmp_path, BLIND_SETS["blind"][1]))
    assert len(qs) >= 40 and len({q["id"] for q in qs}) == len(qs)
    assert sum(q["outcome"] == "unanswerable" for q in qs) >= 5
    assert all(q["contains"] for q in qs if q["outcome"] == "answered")
