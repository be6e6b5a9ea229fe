"""The blind evaluation's truth: expected items computed from a real event store by plain SQL."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from benchmarks.lib.ask_eval import BLIND_SETS, EVAL_DIR, UNSCORED_SETS, blind_questions, build_store, load_questions
from benchmarks.lib.eval_truth import TruthError, expected, expected_question, expected_turns
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
                                   cameras={"gate": CameraReport(process_fps=6.5, stage_ms={"infer": 99.5}),
                                            "yard": CameraReport(process_fps=3.25, stage_ms={"infer": 40.0}),
                                            "attic": CameraReport(process_fps=0.0, status="down")}))
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


def test_exclusion_filters_leave_out_one_value_or_a_list(tmp_path: Path) -> None:
    db, stats = _store(tmp_path)
    assert expected({"op": "count", "not_camera": "gate"}, db, stats, NOW)["contains"] == ["1"]
    assert expected({"op": "count", "not_label": ["dog"]}, db, stats, NOW)["contains"] == ["3"]
    assert expected({"op": "count", "not_camera": ["gate", "yard"]}, db, stats, NOW)["contains"] == ["0"]
    assert expected({"op": "count", "label": "person", "not_track": [2, 4]}, db, stats, NOW)["contains"] == ["1"]
    assert expected({"op": "last", "not_camera": "gate"}, db, stats, NOW)["contains"] == ["08:15", "yard"]


def test_compare_gives_both_figures_and_the_larger_side(tmp_path: Path) -> None:
    db, stats = _store(tmp_path)
    two_cams = {"op": "compare", "label": "person", "a": {"camera": "gate", "name": "gate"},
                "b": {"camera": "yard", "name": "yard"}}
    out = expected(two_cams, db, stats, NOW)
    assert (out["contains"], out["figures"], out["larger"]) == (["2", "1"], ["2", "1"], "gate")
    windows = {"op": "compare", "a": {"since": "2026-01-01T00:00", "name": "today"},
               "b": {"since": "2025-12-31T00:00", "until": "2026-01-01T00:00", "name": "yesterday"}}
    assert expected(windows, db, stats, NOW)["larger"] == "today"  # 3 against 1
    equal = expected({"op": "compare", "a": {"label": "dog"}, "b": {"camera": "yard"}}, db, stats, NOW)
    assert (equal["contains"], equal["figures"], equal["larger"]) == (["1"], ["1", "1"], "equal")
    fps = {"op": "compare", "measure": "stat", "field": "process_fps", "a": {"camera": "yard"},
           "b": {"camera": "gate"}}
    assert expected(fps, db, stats, NOW)["larger"] == "b"
    assert expected(two_cams, db, stats, NOW, strict=True)["contains"] == ["2", "1", "person", "gate", "yard"]


def test_shares_ratios_and_averages_are_exact_or_refused(tmp_path: Path) -> None:
    db, stats = _store(tmp_path)
    assert expected({"op": "share", "part": {"label": "person"}}, db, stats, NOW)["contains"] == ["75"]
    with pytest.raises(TruthError, match="not exact"):  # 2 of 3: an answer may round either way
        expected({"op": "share", "camera": "gate", "part": {"label": "person"}}, db, stats, NOW)
    ratio = {"op": "ratio", "a": {"label": "person"}, "b": {"label": "dog"}}
    assert expected(ratio, db, stats, NOW)["contains"] == ["3"]
    per_hour = {"op": "average", "per": "hour", "label": "person", "since": "2026-01-01T06:00"}  # until now, 10:00
    assert expected(per_hour, db, stats, NOW)["contains"] == ["0.5"]
    per_day = {"op": "average", "per": "day", "since": "2025-12-30T00:00", "until": "2026-01-01T00:00"}
    assert expected(per_day, db, stats, NOW)["contains"] == ["0.5"]
    with pytest.raises(TruthError, match="whole number"):
        expected({**per_hour, "since": "2026-01-01T06:30"}, db, stats, NOW)
    with pytest.raises(TruthError, match="zero"):
        expected({"op": "ratio", "a": {"label": "dog"}, "b": {"label": "cat"}}, db, stats, NOW)


def test_distinct_counts_cameras_labels_rules_and_tracks(tmp_path: Path) -> None:
    db, stats = _store(tmp_path)
    assert expected({"op": "distinct", "of": "camera"}, db, stats, NOW)["contains"] == ["2"]
    assert expected({"op": "distinct", "of": "label", "camera": "gate"}, db, stats, NOW)["contains"] == ["2"]
    assert expected({"op": "distinct", "of": "rule"}, db, stats, NOW)["contains"] == ["1"]
    assert expected({"op": "distinct", "of": "track", "not_camera": "yard"}, db, stats, NOW)["contains"] == ["3"]


def test_top_ranks_cameras_by_a_stats_field(tmp_path: Path) -> None:
    db, stats = _store(tmp_path)
    assert expected({"op": "top", "field": "process_fps", "order": "lowest"}, db, stats, NOW)["contains"] == \
        ["attic", "0"]
    assert expected({"op": "top", "field": "process_fps", "order": "lowest", "not_camera": "attic"},
                    db, stats, NOW)["contains"] == ["yard", "3.25"]
    # the down camera has no stage times: it is not the fastest at inference
    assert expected({"op": "top", "field": "infer_ms", "order": "lowest"}, db, stats, NOW)["contains"] == \
        ["yard", "40"]
    assert expected({"op": "top", "field": "process_fps", "n": 2}, db, stats, NOW)["contains"] == \
        ["gate", "6.5", "yard", "3.25"]
    with pytest.raises(TruthError, match="top 3"):
        expected({"op": "top", "field": "infer_ms", "n": 3}, db, stats, NOW)
    with pytest.raises(TruthError, match="top 1"):  # gate and yard both dropped 0: a tie
        expected({"op": "top", "field": "dropped"}, db, stats, NOW)


def test_the_expected_language_is_passed_through(tmp_path: Path) -> None:
    db, stats = _store(tmp_path)
    assert expected({"op": "count", "label": "person", "lang": "es"}, db, stats, NOW)["lang"] == "es"
    assert "lang" not in expected({"op": "count"}, db, stats, NOW)
    assert expected({"op": "unanswerable", "lang": "de"}, db, stats, NOW)["lang"] == "de"


def test_a_follow_up_carries_the_filters_of_the_turn_before(tmp_path: Path) -> None:
    db, stats = _store(tmp_path)
    turns = [{"q": "people today?", "truth": {"op": "count", "label": "person", "since": "2026-01-01T00:00",
                                              "lang": "de"}},
             {"q": "only the gate", "truth": {"op": "count", "camera": "gate"}},
             {"q": "list them", "truth": {"op": "list"}},
             {"q": "and any label there?", "truth": {"op": "count", "drop": ["label", "since"]}},
             {"q": "all of them", "truth": {"op": "count", "new": True}}]
    got = expected_turns(turns, db, stats, NOW)
    assert [t["contains"] for t in got] == [["3"], ["2"], ["00:30", "09:45"], ["3"], ["4"]]
    assert [t.get("lang") for t in got] == ["de", "de", "de", "de", None]
    assert expected_question({"turns": turns}, db, stats, NOW) == got
    assert expected_question({"truth": {"op": "count"}}, db, stats, NOW)[0]["contains"] == ["4"]


def test_the_blind5_set_covers_each_kind_and_every_question_has_one_answer(tmp_path: Path) -> None:
    st = build_store(tmp_path, EVAL_DIR / "blind5_store.yaml")
    qs = load_questions(EVAL_DIR / "blind5_questions.yaml")
    assert len(qs) >= 60 and len({q["id"] for q in qs}) == len(qs)
    kinds = {"cmp", "share", "avg", "distinct", "not", "clock", "typo", "lang", "top", "follow", "old", "refuse"}
    per_kind = {k: sum(q["id"].split("-")[1] == k for q in qs) for k in kinds}
    assert per_kind["share"] + per_kind["avg"] >= 5 and per_kind["refuse"] >= 3
    assert all(n >= 5 for k, n in per_kind.items() if k not in ("share", "avg", "refuse")), per_kind
    answers = [e for q in qs for e in expected_question(q, st.events, st.stats, st.now, strict=True)]
    assert all(e["contains"] for e in answers if e["outcome"] == "answered")
    assert all(len(q["turns"]) >= 2 for q in qs if "turns" in q)
    compared = [e["larger"] for e in answers if "larger" in e]
    assert "equal" in compared and len([c for c in compared if c != "equal"]) >= 5
    assert {e.get("lang") for e in answers} >= {"es", "de"}


@pytest.mark.parametrize("name", ["blind6", "blind7", "blind8"])
def test_a_later_blind_set_covers_each_kind_and_every_question_has_one_answer(tmp_path: Path, name: str) -> None:
    st = build_store(tmp_path, UNSCORED_SETS[name][1])
    qs = load_questions(UNSCORED_SETS[name][0])
    assert len(qs) >= 66 and len({q["id"] for q in qs}) == len(qs)
    kinds = {"cmp", "share", "avg", "distinct", "not", "clock", "typo", "lang", "top", "follow", "old", "refuse"}
    per_kind = {k: sum(q["id"].split("-")[1] == k for q in qs) for k in kinds}
    assert sum(per_kind.values()) == len(qs) and all(n >= 6 for n in per_kind.values()), per_kind
    conversations = [q for q in qs if "turns" in q]
    assert len(conversations) >= 8 and all(2 <= len(q["turns"]) <= 3 for q in conversations)
    answers = [e for q in qs for e in expected_question(q, st.events, st.stats, st.now, strict=True)]
    assert all(e["contains"] for e in answers if e["outcome"] == "answered")
    assert sum(e["outcome"] == "unanswerable" for e in answers) >= 5
    compared = [e["larger"] for e in answers if "larger" in e]
    assert "equal" in compared and len([c for c in compared if c != "equal"]) >= 5
    assert {e.get("lang") for e in answers} >= {"es", "de"}
    # the shipped model's labels only, and a store of its own: not an earlier set's zone or cameras
    labels = {label for q in qs for t in q.get("turns", [q]) for label in [t["truth"].get("label")] if label}
    assert labels <= {"Normal", "Fall"}
    cameras = set(json.loads(st.stats.read_text())["cameras"])
    for other_name in ["blind5", "blind6", "blind7", "blind8"][:["blind6", "blind7", "blind8"].index(name) + 1]:
        (tmp_path / other_name).mkdir()
        other = build_store(tmp_path / other_name, UNSCORED_SETS[other_name][1])
        assert st.now.utcoffset() != other.now.utcoffset(), other_name
        assert not cameras & set(json.loads(other.stats.read_text())["cameras"]), other_name
