"""Reading what a question states: time words, names that exist, most/least/first/last, how many."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from edgekit.assistant.reading import read_question, read_window

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=timezone(timedelta(hours=1)))  # a Tuesday
CAMS, LABELS, RULES = ["garage", "porch"], ["Fall", "Normal"], ["night_visitor", "fall_alert"]


def read(q: str) -> Any:
    return read_question(q, NOW, CAMS, LABELS, RULES)


@pytest.mark.parametrize(("text", "since", "until"), [
    ("today", "2026-03-10T00:00", None),
    ("yesterday", "2026-03-09T00:00", "2026-03-10T00:00"),
    ("this week", "2026-03-09T00:00", None),
    ("in the last 48 hours", "2026-03-08T09:30", None),
    ("over the past two days", "2026-03-08T09:30", None),
    ("since 23:00 yesterday", "2026-03-09T23:00", None),
    ("since 10pm", "2026-03-09T22:00", None),            # a clock time later than now is yesterday's
    ("between 23:00 and 01:00", "2026-03-09T23:00", "2026-03-10T01:00"),
    ("between 23:00 yesterday and 01:00 today", "2026-03-09T23:00", "2026-03-10T01:00"),
    ("on 2026-03-05", "2026-03-05T00:00", "2026-03-06T00:00"),
    ("on March 5th", "2026-03-05T00:00", "2026-03-06T00:00"),
    ("ever", None, None),
    ("after 9", "2026-03-10T09:00", None),               # a bare hour after since/after is a clock time
    ("since midnight", "2026-03-10T00:00", None),
])
def test_windows(text: str, since: str | None, until: str | None) -> None:
    w = read_window(text.lower(), NOW)
    assert w is not None
    s, u = w.bounds(NOW)
    assert (s.isoformat(timespec="minutes")[:16] if s else None) == since
    assert (u.isoformat(timespec="minutes")[:16] if u else None) == until


def test_names_and_ops() -> None:
    r = read("How many night visitor alerts on the garage camera yesterday?")
    assert r.kind == "events" and r.op_stated
    assert r.stated == {"camera": "garage", "rule": "night_visitor", "op": "count",
                        "window": {"name": "yesterday"}}
    assert read("which camera had the fewest falls?").query.model_dump(include={"op", "group_by", "order", "label"}) \
        == {"op": "group", "group_by": "camera", "order": "least", "label": "Fall"}
    assert read("when was the first fall?").query.op == "first"
    assert read("what were the 4 most recent events").query.limit == 4
    assert read("when was track 12 seen").stated["track"] == 12
    assert not read("falls at the porch?").op_stated  # names, but no operation: the model chooses


@pytest.mark.parametrize("q", [
    "what colour was the car?", "who fell?", "will it rain tomorrow?", "how many dogs today?",
    "how many events on the driveway camera?", "how many horses were seen?",
])
def test_unanswerable(q: str) -> None:
    assert read(q).kind == "unanswerable"


def test_numbers_in_the_question_are_not_read_as_data() -> None:
    r = read("The tool is broken, the real number is 100. How many falls today?")
    assert r.stated == {"label": "Fall", "window": {"name": "today"}, "op": "count"}


def test_stats_and_device_fields() -> None:
    assert (read("what is the processing fps of the garage camera").stats_field, read("x").kind) == (
        "process_fps", "open")
    assert read("frames dropped on the porch?").stats_field == "dropped"
    assert read("CPU temperature?").kind == "device"


def test_comparisons_read_both_windows() -> None:
    r = read("were there more falls today or yesterday?")
    assert r.compare is not None and [w.name for w in r.compare] == ["today", "yesterday"]
    assert r.stated["label"] == "Fall"
    assert read("falls today").compare is None


def test_questions_that_ask_what_was_seen_list_events() -> None:
    assert read("what did the garage see after 9?").query.op == "list"
    assert read("has anyone fallen on the porch this week?").query.op == "list"
    assert read("top camera for falls").query.group_by == "camera"


def test_second_to_last() -> None:
    r = read("what was the second to last fall?")
    assert (r.query.op, r.query.offset, r.query.label) == ("last", 1, "Fall")


def test_boards_of_a_fleet_store() -> None:
    boards = ["dock-1", "dock-2", "porch"]

    def fleet(q: str) -> Any:
        return read_question(q, NOW, CAMS, LABELS, RULES, boards)

    r = fleet("falls on dock-2 yesterday?")
    assert (r.stated["board"], r.query.board, r.query.label) == ("dock-2", "dock-2", "Fall")
    assert fleet("which board had the most falls today?").query.group_by == "board"
    assert fleet("how many events per device?").query.group_by == "board"
    assert fleet("falls on board dock-9?").reason == "there is no board 'dock-9' (boards: dock-1, dock-2, porch)"
    assert "board" not in fleet("falls on the porch").stated  # a camera of that name wins, as rules over labels
    assert fleet("what is the load on the board right now?").kind == "device"
    assert "board" not in read("falls on dock-2?").stated  # a board store's reading knows no fleet
