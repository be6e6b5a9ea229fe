"""``edgekit hub`` and ``edgekit fleet`` as a user runs them; the hub process SIGKILLed and the broker restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, run_cli
from tests.hub.test_hub import board, make_event, n_events, raw_publisher, rows, wait_for


def write_hub_yaml(path: Path, port: int, dsn: str, **extra: object) -> Path:
    path.write_text(yaml.safe_dump({"mqtt": {"host": "127.0.0.1", "port": port, "client_id": "hub-cli"},
                                    "database": {"dsn": dsn}, "limits": {"batch_wait_ms": 10}, **extra}))
    return path


def start_hub(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", "-v", "hub", "--config", str(cfg),
                             "--stats-every", "5"], cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def wait_hub_subscribed(log: Path, times: int = 1) -> None:
    # events published before the hub's first subscription have no subscriber at all: start boards after it
    assert wait_for(lambda: log.exists() and log.read_text().count("hub subscribed") >= times, 60), log.read_text()


def test_bad_config_and_unreachable_database_are_one_line_errors(tmp_path):
    missing = run_cli("hub", "--config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and missing.stderr.strip() == f"error: hub config {tmp_path / 'nope.yaml'} not found"
    typo = tmp_path / "typo.yaml"
    typo.write_text("database: {dsn: 'postgresql://x@127.0.0.1:1/db'}\nmqtt: {hots: a}\n")
    r = run_cli("hub", "--config", str(typo))
    assert r.returncode == 2 and r.stderr == f"error: invalid hub config {typo}:2: mqtt.hots: unknown key 'hots'\n"
    env_cfg = tmp_path / "env.yaml"
    env_cfg.write_text("database: {dsn: 'postgresql://hub:{HUB_DB_PASSWORD_UNSET}@127.0.0.1/db'}\n")
    r = run_cli("hub", "--config", str(env_cfg))
    assert r.returncode == 2 and r.stderr.startswith(f"error: invalid hub config {env_cfg}:1: database.dsn: "
                                                     "environment variable HUB_DB_PASSWORD_UNSET is not set")
    from tests.servers import free_port_pair

    down = write_hub_yaml(tmp_path / "down.yaml", 1883, f"postgresql://edgekit@127.0.0.1:{free_port_pair(0)}/x")
    r = run_cli("hub", "--config", str(down), "--migrate-only")
    assert r.returncode == 2 and r.stderr.startswith("error: cannot migrate the hub database")
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_cli("fleet", "status", "--config", str(down))
    assert r.returncode == 2 and r.stderr.startswith("error: cannot reach the hub database")
    r = run_cli("fleet", "events", "--dsn", "postgresql://x@127.0.0.1:1/x", "--last", "two hours")
    assert r.returncode == 2 and "--last 'two hours'" in r.stderr


@pytest.mark.slow
def test_hub_sigkill_and_broker_restart_lose_nothing_store_nothing_twice(broker, pg_dsn, tmp_path):
    cfg = write_hub_yaml(tmp_path / "hub.yaml", broker.port, pg_dsn)
    r = run_cli("hub", "--config", str(cfg), "--migrate-only")
    assert r.returncode == 0, r.stderr
    log = tmp_path / "hub.log"
    hub = start_hub(cfg, log)
    wait_hub_subscribed(log)
    links = [board(broker.port, f"b{b}", tmp_path) for b in range(3)]
    produced: list[str] = []
    done = threading.Event()

    def produce() -> None:
        for i in range(400):
            for b, link in enumerate(links):
                e = make_event(f"b{b}", i, start_ts=time.time())
                link.publish_event(e)
                produced.append(e.id)
            time.sleep(0.02)
        done.set()

    t = threading.Thread(target=produce)
    t.start()
    try:
        assert wait_for(lambda: n_events(pg_dsn) >= 150, 60), log.read_text()
        os.kill(hub.pid, signal.SIGKILL)  # mid-stream: some messages delivered to it, not yet acknowledged
        hub.wait()
        time.sleep(1.0)  # events pile up at the broker for the hub's session
        hub = start_hub(cfg, log)
        assert wait_for(lambda: n_events(pg_dsn) >= 600, 90), log.read_text()
        broker.restart()  # graceful: Mosquitto saves its sessions and queues
        assert done.wait(120)
        t.join()
        assert wait_for(lambda: all(len(link.outbox) == 0 for link in links), 60)
        if not wait_for(lambda: n_events(pg_dsn) == len(produced), 120):
            got = {r[0] for r in rows(pg_dsn, "SELECT id FROM events")}
            missing = [(i // 3, i % 3) for i, e in enumerate(produced) if e not in got]
            raise AssertionError(f"{n_events(pg_dsn)} of {len(produced)}; missing (i, board): {missing}; "
                                 f"{[link.counters for link in links]}")
    finally:
        done.set()
        for link in links:
            link.stop(flush_timeout_s=1)
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=30)
    ids = [r[0] for r in rows(pg_dsn, "SELECT id FROM events")]
    assert len(ids) == len(set(ids)) == len(produced) and set(ids) == set(produced)


def test_fleet_status_and_events_commands(broker, pg_dsn, tmp_path):
    cfg = write_hub_yaml(tmp_path / "hub.yaml", broker.port, pg_dsn)
    assert run_cli("hub", "--config", str(cfg), "--migrate-only").returncode == 0
    hub = start_hub(cfg, tmp_path / "hub.log")
    wait_hub_subscribed(tmp_path / "hub.log")
    try:
        links = [board(broker.port, d, tmp_path) for d in ("gate", "dock")]
        for i in range(5):
            links[0].publish_event(make_event("gate", i, rule="door", label="Normal", source="north"))
            links[1].publish_event(make_event("dock", i, start_ts=time.time() - 60 * i))
        pub = raw_publisher(broker.port)
        pub.publish("edgekit/gate/stats", json.dumps({"cpu_temp_c": 48.0, "mqtt": {"pending": 0}}), qos=1)
        assert wait_for(lambda: n_events(pg_dsn) == 10 and rows(pg_dsn, "SELECT COUNT(stats) FROM boards")[0][0] == 1)
        links[1].stop()
        assert wait_for(lambda: rows(pg_dsn, "SELECT online FROM boards WHERE device = 'dock'") == [(False,)])
        r = run_cli("fleet", "status", "--config", str(cfg), "--json")
        assert r.returncode == 0, r.stderr
        status = {b["device"]: b for b in json.loads(r.stdout)}
        assert status["gate"]["state"] == "online" and status["gate"]["temp_c"] == 48.0
        assert status["dock"]["state"] == "offline" and status["dock"]["events"] == 5
        r = run_cli("fleet", "status", "--config", str(cfg))
        assert r.returncode == 0 and "2 board(s), 1 online" in r.stdout
        r = run_cli("fleet", "events", "--dsn", pg_dsn, "--camera", "north", "--rule", "door", "--json")
        assert [e["track_id"] for e in json.loads(r.stdout)] == [4, 3, 2, 1, 0]
        r = run_cli("fleet", "events", "--dsn", pg_dsn, "--board", "dock", "--last", "150s", "--count")
        assert r.returncode == 2  # seconds are not a unit
        r = run_cli("fleet", "events", "--dsn", pg_dsn, "--board", "dock", "--last", "3m", "--count")
        assert r.returncode == 0 and r.stdout.strip() == "3"  # 0, 1 and 2 minutes ago
        r = run_cli("fleet", "events", "--dsn", pg_dsn, "--today", "--last", "2h")
        assert r.returncode == 2 and "give one window, not --last and --today" in r.stderr
        r = run_cli("fleet", "events", "--dsn", pg_dsn, "--since", "yesterday-ish")
        assert r.returncode == 2 and "not an ISO time" in r.stderr
        r = run_cli("fleet", "events", "--dsn", pg_dsn, "--label", "Fall", "--limit", "2")
        assert r.returncode == 0 and "2 event(s)" in r.stdout and "dock" in r.stdout
        pub.disconnect()
        links[0].stop()
    finally:
        hub.send_signal(signal.SIGTERM)
        assert hub.wait(timeout=30) == 0


def test_hub_started_before_its_database_waits_for_it(broker, pg_cluster, pg_dsn, tmp_path):
    cfg = write_hub_yaml(tmp_path / "hub.yaml", broker.port, pg_dsn)
    log = tmp_path / "hub.log"
    pg_cluster.stop()
    try:
        hub = start_hub(cfg, log)
        assert wait_for(lambda: log.exists() and log.read_text().count("cannot migrate the hub database") >= 2, 60)
        assert hub.poll() is None  # still running, retrying
    finally:
        pg_cluster.start()
    try:
        wait_hub_subscribed(log)
        pub = raw_publisher(broker.port)
        pub.publish("edgekit/b1/events", make_event("b1", 1).to_json(), qos=1)
        assert wait_for(lambda: n_events(pg_dsn) == 1, 60)
        pub.disconnect()
    finally:
        hub.send_signal(signal.SIGTERM)
        assert hub.wait(timeout=30) == 0
