"""The assistant's tools on a real EventStore and real stats files: validation, windows, results."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edgekit.assistant.tools import TOOLS, ToolBox, ToolCallError, window_bounds
from edgekit.events import EventStore
from edgekit.pipeline.stats import DaemonStats, read_stats, write_stats
from edgekit.types import Event

NOW = datetime(2025, 6, 10, 14, 30).astimezone()


def ev(label: str, source: str, at: datetime, **kw: Any) -> Event:
    return Event(rule="r", source=source, label=label, score=0.87, box=(1, 2, 3, 4), start_ts=at.timestamp(), **kw)


@pytest.fixture()
def store(tmp_path: Path) -> EventStore:
    s = EventStore(tmp_path / "events.db")
    s.add_many(
        [
            ev("Fall", "gate", NOW - timedelta(minutes=10)),
            ev("Fall", "gate", NOW - timedelta(hours=3)),
            ev("Fall", "kitchen", NOW - timedelta(hours=20)),  # yesterday (18:30)
            ev("Normal", "kitchen", NOW - timedelta(minutes=30)),
            ev("Fall", "gate", NOW - timedelta(days=10)),
        ]
    )
    return s


@pytest.fixture()
def tools(store: EventStore, tmp_path: Path) -> ToolBox:
    return ToolBox(store, tmp_path / "stats.json", profile="rpi5", now=lambda: NOW)


def run(tb: ToolBox, call: dict[str, Any]) -> dict[str, Any]:
    name, args = tb.parse(call)
    return tb.run(name, args)


@pytest.mark.parametrize(
    ("args", "count"),
    [
        ({"label": "Fall", "camera": None, "window": "today"}, 2),
        ({"label": "fall", "camera": None, "window": "today"}, 2),  # case-insensitive label
        ({"label": "Fall", "camera": None, "window": "yesterday"}, 1),
        ({"label": "Fall", "camera": None, "window": "last_24_hours"}, 3),
        ({"label": "Fall", "camera": None, "window": "all_time"}, 4),
        ({"label": None, "camera": "kitchen", "window": "last_hour"}, 1),
        ({"label": None, "camera": None, "window": "last_7_days"}, 4),
    ],
)
def test_count_events(tools: ToolBox, args: dict[str, Any], count: int) -> None:
    result = run(tools, {"tool": "count_events", "args": args})
    assert result["count"] == count
    assert result["window"] == args["window"]


def test_list_and_last_events(tools: ToolBox) -> None:
    res = run(tools, {"tool": "list_events", "args": {"label": "Fall", "camera": "gate", "window": "all_time",
                                                       "limit": 2}})
    assert res["total"] == 3 and res["shown"] == 2
    assert [e["camera"] for e in res["events"]] == ["gate", "gate"]
    assert res["events"][0]["time"] > res["events"][1]["time"]  # newest first
    last = run(tools, {"tool": "last_events", "args": {"n": 3}})
    assert last["shown"] == 3 and last["events"][0]["label"] == "Fall" and last["events"][0]["score"] == 0.87


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("count_events", "must be a JSON object"),
        ({"args": {}}, "must be a JSON object"),
        ({"tool": "drop_table", "args": {}}, "unknown tool 'drop_table'"),
        ({"tool": "count_events", "args": {"label": "Dog", "camera": None, "window": "today"}}, "unknown label"),
        ({"tool": "count_events", "args": {"label": None, "camera": "garage", "window": "today"}}, "unknown camera"),
        ({"tool": "count_events", "args": {"window": "last_century"}}, "bad arguments for count_events: window"),
        ({"tool": "count_events", "args": {"sql": "DROP TABLE events"}}, "sql: Extra inputs"),
        ({"tool": "last_events", "args": {"n": 500}}, "n: Input should be less than or equal to 20"),
    ],
)
def test_bad_calls_are_named(tools: ToolBox, call: Any, message: str) -> None:
    with pytest.raises(ToolCallError, match=message):
        tools.parse(call)


def test_schema_offers_only_real_labels_and_cameras(tools: ToolBox) -> None:
    schema = tools.call_schema()
    branches = {b["properties"]["tool"]["const"]: b for b in schema["anyOf"]}
    assert set(branches) == set(TOOLS)
    count_props = branches["count_events"]["properties"]["args"]["properties"]
    assert count_props["label"]["anyOf"][0]["enum"] == ["Fall", "Normal"]
    assert count_props["camera"]["anyOf"][0]["enum"] == ["gate", "kitchen"]
    json.dumps(schema)  # the schema goes to llama.cpp as JSON


def test_empty_store(tmp_path: Path) -> None:
    tb = ToolBox(EventStore(tmp_path / "e.db"), now=lambda: NOW)
    assert tb.store_is_empty()
    assert tb.labels() == [] and tb.cameras() == []
    label = tb.call_schema()["anyOf"][0]["properties"]["args"]["properties"]["label"]
    assert label == {"type": "null"}
    assert run(tb, {"tool": "count_events", "args": {"label": None, "camera": None, "window": "today"}})["count"] == 0


def test_windows_are_calendar_days() -> None:
    since, until = window_bounds("yesterday", NOW)
    assert since is not None and until is not None
    assert (since.hour, since.minute, until - since) == (0, 0, timedelta(days=1))
    assert window_bounds("all_time", NOW) == (None, None)


def test_camera_stats_from_daemon_file(tools: ToolBox, tmp_path: Path) -> None:
    assert run(tools, {"tool": "camera_stats", "args": {"camera": None}})["available"] is False
    cams = {"gate": {"capture_fps": 29.9, "process_fps": 7.5, "dropped": 41, "stage_ms": {"infer": 118.0}}}
    write_stats(tmp_path / "stats.json", DaemonStats.model_validate({"cameras": cams}))
    assert "gate" in tools.cameras()
    res = run(tools, {"tool": "camera_stats", "args": {"camera": "gate"}})
    assert res["available"] and not res["stale"]
    assert res["cameras"]["gate"]["dropped"] == 41
    # the daemon's own writer adds top-level keys: still readable
    (tmp_path / "stats.json").write_text(json.dumps({"ts": 0.0, "device": "d", "cameras": cams, "rss": 1}))
    assert run(tools, {"tool": "camera_stats", "args": {"camera": None}})["stale"] is True


def test_stats_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="unreadable"):
        read_stats(bad)
    bad.write_text("[]")
    with pytest.raises(ValueError, match="no 'cameras'"):
        read_stats(bad)


def test_device_status(tools: ToolBox) -> None:
    res = run(tools, {"tool": "device_status", "args": {}})
    assert res["profile"] == "rpi5"
    assert 0 < res["memory_available_mb"] <= res["memory_total_mb"]
    assert res["cpu_cores"] >= 1


def test_allowed_tools_limit_schema_and_calls(store: EventStore) -> None:
    tb = ToolBox(store, allowed=("count_events", "none"))
    assert [b["properties"]["tool"]["const"] for b in tb.call_schema()["anyOf"]] == ["count_events", "none"]
    with pytest.raises(ToolCallError, match="unknown tool 'device_status'; tools: count_events, none"):
        tb.parse({"tool": "device_status", "args": {}})
    with pytest.raises(ValueError, match="unknown tools"):
        ToolBox(store, allowed=("rm_rf",))
