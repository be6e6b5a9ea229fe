"""The assistant's query language and tools on a real EventStore and real stats files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from edgekit.assistant.query import EventQuery, Window, when
from edgekit.assistant.tools import ToolBox, ToolCallError
from edgekit.contract.stats import DaemonStats, read_stats, write_stats
from edgekit.events import EventStore
from edgekit.types import Event

TZ = timezone(timedelta(hours=-5))  # not the machine's zone: windows follow the device's zone (now's)
NOW = datetime(2025, 6, 10, 0, 30, tzinfo=TZ)  # just after midnight


def ev(label: str, source: str, at: datetime, rule: str = "r", track: int | None = None) -> Event:
    return Event(rule=rule, source=source, label=label, score=0.87, box=(1, 2, 3, 4), start_ts=at.timestamp(),
                 track_id=track)


@pytest.fixture()
def store(tmp_path: Path) -> EventStore:
    s = EventStore(tmp_path / "events.db")
    s.add_many([
        ev("Fall", "gate", NOW - timedelta(minutes=10), rule="fall", track=4),   # today 00:20
        ev("Normal", "gate", NOW - timedelta(minutes=40), rule="path", track=3),  # yesterday 23:50
        ev("Fall", "kitchen", NOW - timedelta(hours=5), rule="fall", track=2),   # yesterday 19:30
        ev("Normal", "kitchen", NOW - timedelta(hours=6), rule="path"),          # yesterday 18:30
        ev("Fall", "gate", NOW - timedelta(days=10), rule="fall", track=1),
    ])
    return s


@pytest.fixture()
def tools(store: EventStore, tmp_path: Path) -> ToolBox:
    return ToolBox(store, tmp_path / "stats.json", profile="rpi5", now=lambda: NOW)


@pytest.mark.parametrize(("query", "count"), [
    (EventQuery(), 5),
    (EventQuery(window=Window(name="today")), 1),
    (EventQuery(window=Window(name="yesterday")), 3),
    (EventQuery(window=Window(name="last", amount=1, unit="hours")), 2),   # across midnight
    (EventQuery(window=Window(name="range", since="2025-06-09T23:00", until="2025-06-10T01:00")), 2),
    (EventQuery(label="Fall", camera="gate"), 2),
    (EventQuery(rule="path"), 2),
    (EventQuery(track=2), 1),
    (EventQuery(label="Fall", window=Window(name="last", amount=7, unit="days")), 2),
])
def test_counts(tools: ToolBox, query: EventQuery, count: int) -> None:
    assert tools.events(query)["count"] == count


def test_first_last_list_and_groups(tools: ToolBox) -> None:
    last = tools.events(EventQuery(op="last", label="Fall"))["events"][0]
    assert (last["when"], last["camera"], last["track"]) == ("00:20", "gate", 4)
    second = tools.events(EventQuery(op="last", label="Fall", offset=1))["events"][0]
    assert second["when"] == "yesterday 19:30"
    assert tools.events(EventQuery(op="last", track=2, offset=1))["events"] == []
    first = tools.events(EventQuery(op="first", window=Window(name="yesterday")))["events"][0]
    assert first["when"] == "yesterday 18:30"
    listed = tools.events(EventQuery(op="list", limit=2))
    assert listed["total"] == 5 and [e["when"] for e in listed["events"]] == ["00:20", "yesterday 23:50"]
    by_cam = tools.events(EventQuery(op="group", group_by="camera", label="Normal"))["groups"]
    assert by_cam == [{"name": "gate", "count": 1}, {"name": "kitchen", "count": 1}]
    fewest = tools.events(EventQuery(op="group", group_by="camera", order="least", window=Window(name="today")))
    assert fewest["groups"][0] == {"name": "kitchen", "count": 0}  # a known camera with no event counts as 0
    hours = tools.events(EventQuery(op="group", group_by="hour", window=Window(name="yesterday")))["groups"]
    assert hours == [{"name": "18:00", "count": 1}, {"name": "19:00", "count": 1}, {"name": "23:00", "count": 1}]


def test_unknown_names_are_refused_with_the_known_ones(tools: ToolBox) -> None:
    with pytest.raises(ToolCallError, match="there is no camera 'porch' \\(cameras: gate, kitchen\\)"):
        tools.events(EventQuery(camera="porch"))
    with pytest.raises(ValueError):
        EventQuery.model_validate({"op": "count", "sql": "DROP TABLE events"})  # extra="forbid"


def test_when_is_relative_to_now() -> None:
    assert when(NOW - timedelta(minutes=5), NOW) == "00:25"
    assert when(NOW - timedelta(hours=1), NOW) == "yesterday 23:30"
    assert when(NOW - timedelta(days=3), NOW) == "2025-06-07 00:30"


def test_camera_stats_fields_with_units(tools: ToolBox, tmp_path: Path) -> None:
    assert tools.camera_stats(None, "process_fps")["available"] is False
    cams = {"gate": {"capture_fps": 29.9, "process_fps": 7.5, "dropped": 41, "status": "ok",
                     "stage_ms": {"infer": 118.0}}}
    write_stats(tmp_path / "stats.json", DaemonStats.model_validate({"cameras": cams}))
    assert "gate" in tools.cameras()
    assert tools.camera_stats("gate", "process_fps")["cameras"] == {"gate": 7.5}
    assert tools.camera_stats("gate", "infer_ms")["cameras"] == {"gate": 118.0}
    assert tools.camera_stats(None, "pre_ms")["cameras"] == {"gate": None}  # not reported: None, never a guess
    assert tools.camera_stats("porch", "dropped")["available"] is False
    (tmp_path / "stats.json").write_text(json.dumps({"ts": 0.0, "device": "d", "cameras": cams, "rss": 1}))
    assert tools.camera_stats(None, "dropped")["stale"] is True


def test_stats_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="unreadable"):
        read_stats(bad)
    bad.write_text("[]")
    with pytest.raises(ValueError, match="no 'cameras'"):
        read_stats(bad)


def test_device_status(tools: ToolBox, tmp_path: Path) -> None:
    (tmp_path / "stats.json").write_text(json.dumps({"ts": 0.0, "cameras": {}, "rss": 3 * 2**20,
                                                     "cpu_temp_c": None}))
    mem = tools.device_status("memory")
    assert mem["daemon_rss_mb"] == 3.0 and 0 < mem["available_mb"] <= mem["total_mb"]
    temp = tools.device_status("cpu_temp_c")
    assert temp["available"] is (temp["cpu_temp_c"] is not None)


def test_empty_store(tmp_path: Path) -> None:
    tb = ToolBox(EventStore(tmp_path / "e.db"))
    assert tb.store_is_empty() and tb.labels() == [] and tb.cameras() == []


def test_follow_up_keeps_the_last_query(tools: ToolBox) -> None:
    from edgekit.assistant.agent import Assistant, ChatSession

    s = ChatSession(Assistant(None, tools))
    assert s.ask("how many falls today?").answer == "1 Fall event today."
    t = s.ask("and yesterday?")
    assert t.answer == "1 Fall event yesterday." and t.tool_calls[0].args["label"] == "Fall"
    assert s.ask("what about the kitchen camera?").answer == "1 Fall event on camera kitchen yesterday."
