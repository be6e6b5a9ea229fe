"""The hub against a real Mosquitto and a real PostgreSQL: boards use edgekit's real outbox and MQTT link."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest

from edgekit.config.daemon import MQTTConfig
from edgekit.delivery.mqtt import MqttLink
from edgekit.delivery.outbox import Outbox
from edgekit.hub import FleetStore, Hub, migrate
from edgekit.hub.fleet import EventFilter, board_status, count_events, query_events
from edgekit.types import Event
from tests.helpers import wait_until
from tests.hub.conftest import hub_config


def make_event(device: str, i: int, **kw: Any) -> Event:
    base: dict[str, Any] = {"rule": "fall", "source": "cam1", "label": "Fall", "score": 0.8, "box": (1, 2, 3, 4),
                            "start_ts": 1_764_000_000.0 + i, "device": device, "track_id": i,
                            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{device}/{i}"))}
    return Event(**{**base, **kw})


def board(port: int, device: str, tmp: Path) -> MqttLink:
    cfg = MQTTConfig(host="127.0.0.1", port=port, wait_for_broker=True, keepalive=5, discovery=False)
    link = MqttLink(cfg, device, Outbox(tmp / f"{device}.db"))
    link.start()
    assert link.connected.wait(10)
    return link


def rows(dsn: str, sql: str = "SELECT COUNT(*) FROM events", *args: Any) -> Any:
    with psycopg.connect(dsn) as c:
        return c.execute(sql, args).fetchall()


def n_events(dsn: str) -> int:
    """Rows committed; -1 while the server does not answer (a test may have stopped it)."""
    try:
        return int(rows(dsn)[0][0])
    except psycopg.OperationalError:
        return -1


def raw_publisher(port: int) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"raw-{uuid.uuid4().hex[:6]}")
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def test_migrations_are_versioned_and_idempotent(pg_dsn):
    migrate(pg_dsn)
    migrate(pg_dsn)  # a second hub starting later changes nothing
    assert rows(pg_dsn, "SELECT version_num FROM edgekit_schema_version") == [("0001",)]
    tables = {r[0] for r in rows(pg_dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"boards", "events", "rejects"} <= tables


def test_boards_events_availability_and_stats_reach_postgres(broker, pg_dsn, tmp_path):
    migrate(pg_dsn)
    hub = Hub(hub_config(broker.port, pg_dsn))
    hub.start()
    assert hub.subscribed.wait(30)
    links = [board(broker.port, f"board-{b}", tmp_path) for b in range(3)]
    try:
        for i in range(40):
            for b, link in enumerate(links):
                link.publish_event(make_event(f"board-{b}", i))
        links[0].publish("edgekit/board-0/stats", json.dumps({"cpu_temp_c": 51.5, "mqtt": {"pending": 3},
                                                              "bundle": {"version": "1.2.0"}}))
        wait_until(lambda: n_events(pg_dsn) == 120, 60, what=lambda: f"120 events stored: {hub.stats()}")
        wait_until(lambda: all(len(link.outbox) == 0 for link in links), 60, what="the boards' outboxes empty")
        links[2].stop()  # says offline
        with psycopg.connect(pg_dsn) as c:
            wait_until(lambda: next(b for b in board_status(c) if b["device"] == "board-2")["state"] == "offline", 60,
                       what="board-2 offline")
            wait_until(lambda: board_status(c)[0]["temp_c"] == 51.5, 60, what="board-0's temperature")
            status = {b["device"]: b for b in board_status(c)}
            assert status["board-0"] == {**status["board-0"], "state": "online", "events": 40, "backlog": 3,
                                         "version": "1.2.0", "last_event_ts": 1_764_000_039.0}
            assert count_events(c, EventFilter(device="board-1")) == 40
            assert count_events(c, EventFilter(track=5)) == 3
            newest = query_events(c, EventFilter(device="board-1", since=1_764_000_030.0), limit=5)
            assert [r["track_id"] for r in newest] == [39, 38, 37, 36, 35]
        assert hub.counters["duplicates"] == 0 and hub.counters["rejected"] == 0
    finally:
        for link in links:
            link.stop(flush_timeout_s=1)
        hub.stop()


def test_duplicates_and_bad_input_are_counted_never_stored_never_blocking(broker, pg_dsn):
    migrate(pg_dsn)
    hub = Hub(hub_config(broker.port, pg_dsn, max_payload_bytes=4096, max_json_depth=8))
    hub.start()
    assert hub.subscribed.wait(30)
    pub = raw_publisher(broker.port)
    good = [make_event("b1", i) for i in range(6)]
    bad: list[bytes] = [
        b"{not json",
        b"[" * 2000 + b"]" * 2000,  # nesting bomb (would raise RecursionError in a naive parser)
        json.dumps({**good[0].to_dict(), "id": "big", "extra": {"pad": "x" * 5000}}).encode(),  # oversized
        json.dumps({**good[0].to_dict(), "id": "v9", "schema_version": 9}).encode(),  # unknown schema version
        json.dumps({**good[0].to_dict(), "id": "nobox", "box": None}).encode(),  # malformed
        json.dumps([1, 2]).encode(),  # not an object
        json.dumps({**good[0].to_dict(), "id": "huge-track", "track_id": 10**30}).encode(),  # PostgreSQL refuses
    ]
    nul = json.dumps({**good[5].to_dict(), "label": "Fa\u0000ll"}).encode()  # NUL: cleaned, still stored
    try:
        for i, payload in enumerate(bad):
            pub.publish("edgekit/b1/events", good[i % 5].to_json(), qos=1)
            pub.publish("edgekit/b1/events", payload, qos=1)
        pub.publish("edgekit/b1/events", nul, qos=1)
        pub.publish("edgekit/b1/available", b"maybe", qos=1)
        pub.publish("edgekit/b1/stats", b"\xff\xfe", qos=0)
        wait_until(lambda: hub.counters["rejected"] >= 9, 60, what=lambda: f"9 rejects: {hub.stats()}")
        wait_until(lambda: n_events(pg_dsn) == 6, 60, what=lambda: f"6 events stored: {hub.stats()}")
        assert hub.counters["duplicates"] == 2  # good[0], good[1] were sent twice
        assert hub.counters["refused_by_db"] == 1
        reasons = [r[0] for r in rows(pg_dsn, "SELECT reason FROM rejects ORDER BY seq")]
        for needle in ("not JSON", "deeper than 8", "oversized", "unknown schema_version 9", "malformed event",
                       "not a JSON object", "database refused it", "neither online nor offline"):
            assert any(needle in r for r in reasons), (needle, reasons)
        assert rows(pg_dsn, "SELECT label FROM events WHERE id = %s", good[5].id) == [("Fall",)]
        # the hub is still alive and storing
        pub.publish("edgekit/b1/events", make_event("b1", 99).to_json(), qos=1)
        wait_until(lambda: n_events(pg_dsn) == 7, 60, what="the event after the bad input stored")
        assert hub.stats()["mqtt_connected"] and hub.stats()["db_ok"]
    finally:
        pub.disconnect()
        hub.stop()


def test_database_down_events_wait_unacknowledged_then_all_arrive(broker, pg_cluster, pg_dsn, tmp_path):
    migrate(pg_dsn)
    hub = Hub(hub_config(broker.port, pg_dsn))
    hub.start()
    assert hub.subscribed.wait(30)
    link = board(broker.port, "b1", tmp_path)
    try:
        link.publish_event(make_event("b1", 0))
        wait_until(lambda: n_events(pg_dsn) == 1, 60, what="the first event stored")
        pg_cluster.stop()
        try:
            for i in range(1, 31):
                link.publish_event(make_event("b1", i))
            wait_until(lambda: hub.counters["db_errors"] >= 2, 60, what=lambda: f"2 database errors: {hub.stats()}")
            assert not hub.db_ok.is_set(), hub.stats()
            acked = hub.counters["acked"]
            # the broker holds them now, unacknowledged by the hub
            wait_until(lambda: len(link.outbox) == 0, 60,
                       what=lambda: f"the board's outbox empty ({len(link.outbox)} left, {link.counters})")
        finally:
            pg_cluster.start()
        wait_until(lambda: n_events(pg_dsn) == 31, 90, what=lambda: f"31 events stored: {hub.stats()}")
        assert hub.counters["acked"] >= acked + 30 and hub.db_ok.is_set(), (acked, hub.stats())
        ids = {r[0] for r in rows(pg_dsn, "SELECT id FROM events")}
        assert ids == {make_event("b1", i).id for i in range(31)}
    finally:
        link.stop(flush_timeout_s=1)
        hub.stop()


def test_two_hubs_share_the_load_and_store_each_event_once(broker, pg_dsn, tmp_path):
    migrate(pg_dsn)
    hubs = [Hub(hub_config(broker.port, pg_dsn, share_group="hubs")) for _ in range(2)]
    for h in hubs:
        h.start()
        assert h.subscribed.wait(30)
    links = [board(broker.port, f"b{b}", tmp_path) for b in range(4)]
    try:
        for i in range(100):
            for b, link in enumerate(links):
                link.publish_event(make_event(f"b{b}", i))
        wait_until(lambda: n_events(pg_dsn) == 400, 120, what=lambda: f"400 events stored: {[h.stats() for h in hubs]}")
        assert all(h.counters["inserted"] > 0 for h in hubs), [h.counters for h in hubs]
        assert sum(h.counters["inserted"] for h in hubs) == 400
    finally:
        for link in links:
            link.stop(flush_timeout_s=1)
        for h in hubs:
            h.stop()


def test_store_refuses_nothing_twice(pg_dsn):
    """The store alone: a batch with a duplicate id inside it and one across batches."""
    from edgekit.hub.messages import Incoming, parse

    migrate(pg_dsn)
    store = FleetStore(pg_dsn)
    e = make_event("b1", 1)
    msg = Incoming("edgekit/b1/events", e.to_json().encode(), 1, 1, 1, time.time())
    p = parse(msg, "edgekit", 65536, 16)
    r1 = store.write([p, p])
    r2 = store.write([p])
    store.close()
    assert (r1.inserted, r1.duplicates, r2.inserted, r2.duplicates) == (1, 1, 0, 1)


@pytest.mark.parametrize("topic, payload, reason", [
    ("other/b1/events", b"{}", "unexpected topic"),
    ("edgekit/b1/cam/events", b"{}", "unexpected topic"),
    ("edgekit/b 1/events", b"{}", "bad device name"),
])
def test_parse_rejects_foreign_topics(topic, payload, reason):
    from edgekit.hub.messages import Incoming, parse

    p = parse(Incoming(topic, payload, 1, 1, 1, 0.0), "edgekit", 65536, 16)
    assert p.kind == "reject" and p.reason == reason
