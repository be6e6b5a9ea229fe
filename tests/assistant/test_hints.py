"""What a question names outright, and how it narrows the tool-call grammar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgekit.assistant.hints import Hints, read_hints
from edgekit.assistant.tools import ToolBox
from edgekit.events import EventStore
from edgekit.types import Event

LABELS, CAMERAS = ["Fall", "Normal"], ["cam2", "gate", "hall"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how many falls were there today?", Hints(("count_events",), "Fall", None, "today")),
        ("How many people fell at the hall camera?", Hints(("count_events",), "Fall", "hall")),
        ("what were the last 3 events?", Hints(("last_events",), n=3)),
        ("list the falls of the last 24 hours", Hints(("list_events",), "Fall", window="last_24_hours")),
        ("why is camera 2 slow?", Hints(("camera_stats",), camera="cam2")),
        ("is the device overheating?", Hints(("device_status",))),
        ("what happened at the gate this morning?", Hints(("list_events",), camera="gate", window="today")),
        ("hello", Hints(("none",))),
        ("anything unusual?", Hints()),
        ("falls or upright people yesterday?", Hints(window="yesterday")),  # two labels: the model chooses
    ],
)
def test_read_hints(question: str, expected: Hints) -> None:
    assert read_hints(question, LABELS, CAMERAS) == expected


def _branches(schema: dict[str, Any]) -> dict[str, Any]:
    return {b["properties"]["tool"]["const"]: b["properties"]["args"]["properties"] for b in schema["anyOf"]}


def test_hints_narrow_the_schema(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    store.add(Event(rule="r", source="gate", label="Fall", score=0.5, box=(0, 0, 1, 1), start_ts=1.0))
    tb = ToolBox(store)
    narrowed = _branches(tb.call_schema(read_hints("how many falls today?", tb.labels(), tb.cameras())))
    assert list(narrowed) == ["count_events"]
    assert narrowed["count_events"] == {"label": {"enum": ["Fall"]}, "camera": {"type": "null"},
                                        "window": {"enum": ["today"]}}
    free = _branches(tb.call_schema(Hints()))  # no cue: every tool, label/camera unnamed = any, window free
    assert len(free) == 6
    assert free["list_events"]["label"] == {"type": "null"}
    assert len(free["list_events"]["window"]["enum"]) == 6
