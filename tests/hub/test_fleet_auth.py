"""A board cannot speak for another: per-board logins and the ACL on a real Mosquitto, a hub that believes the topic
and not the payload, presigned URLs only for a board's own snapshots, and board-supplied text printed as text."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

import boto3
import paho.mqtt.client as mqtt
import psycopg
import pytest

from edgekit.config.bridge import BridgeConfig
from edgekit.errors import EdgekitError
from edgekit.hub import Hub, migrate
from edgekit.hub.bridge import bridge_conf
from edgekit.hub.credentials import Credentials
from edgekit.hub.fleet import presign
from tests.conftest import MOSQUITTO, Broker, free_port, wait_port
from tests.helpers import run_cli, wait_until
from tests.hub.conftest import hub_config
from tests.hub.test_hub import make_event, rows

MARKUP = "[red]x[/red]\x1b]0;owned\x07"  # Rich markup and a terminal escape (sets the window title)


def env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


class Login:
    """A plain MQTT client with a login; records what it receives."""

    def __init__(self, port: int, user: str | None, password: str | None, subscribe: str | None = None) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.result: Any = None
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
        if user is not None:
            self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = lambda c, u, m: self.got.append((m.topic, bytes(m.payload)))
        self._subscribe = subscribe
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self.result = rc
        if rc.is_failure:
            self.ready.set()
            client.disconnect()
        elif self._subscribe:
            client.subscribe(self._subscribe, 1)
        else:
            self.ready.set()

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_board_login_writes_only_its_own_topics_and_the_hub_stores_only_what_it_may(pg_dsn, tmp_path):
    if MOSQUITTO is None:
        pytest.skip("mosquitto not installed (scripts/install_daemon.sh installs it)")
    creds = tmp_path / "creds"
    r = run_cli("fleet", "credentials", "gate-a", "gate-b", "--out", str(creds))
    assert r.returncode == 0, r.stderr
    files = ["passwd", "acl", "mosquitto-auth.conf", "hub.env", "boards/gate-a.env", "boards/gate-b.env"]
    assert all(stat.S_IMODE((creds / f).stat().st_mode) == 0o600 for f in files)
    a, b = env_file(creds / "boards/gate-a.env"), env_file(creds / "boards/gate-b.env")
    hub_pw = env_file(creds / "hub.env")["EDGEKIT_HUB_MQTT_PASSWORD"]
    assert a["EDGEKIT_DEVICE"] == "gate-a" and a["EDGEKIT_BRIDGE_PASSWORD"] != b["EDGEKIT_BRIDGE_PASSWORD"]
    assert a["EDGEKIT_BRIDGE_PASSWORD"] not in r.stdout + r.stderr and hub_pw not in r.stdout + r.stderr
    again = run_cli("fleet", "credentials", "gate-a", "--out", str(creds))
    assert again.returncode == 2 and again.stderr.startswith("error: ") and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert env_file(creds / "hub.env")["EDGEKIT_HUB_MQTT_PASSWORD"] == hub_pw  # nothing replaced silently
    added = run_cli("fleet", "credentials", "gate-c", "--out", str(creds), "--add")  # a board joins later
    assert added.returncode == 0, added.stderr
    twice = run_cli("fleet", "credentials", "gate-a", "--out", str(creds), "--add")
    assert twice.returncode == 2 and "gate-a already has a login" in twice.stderr
    c = env_file(creds / "boards/gate-c.env")
    assert env_file(creds / "boards/gate-a.env") == a and len((creds / "passwd").read_text().splitlines()) == 4

    # the central broker with exactly the generated fragment: the password file and the ACL
    (tmp_path / "broker").mkdir()
    broker = Broker(tmp_path / "broker")
    broker.conf.write_text(broker.conf.read_text().replace("allow_anonymous true\n", "")
                           + (creds / "mosquitto-auth.conf").read_text())
    broker.start()
    migrate(pg_dsn)
    cfg = hub_config(broker.port, pg_dsn)
    cfg = cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update={"username": "edgekit-hub",
                                                                      "password": hub_pw})})
    hub = Hub(cfg)
    board_broker: subprocess.Popen[bytes] | None = None
    made: list[Login] = []
    try:
        hub.start()
        assert hub.subscribed.wait(30), hub.stats()
        watch = Login(broker.port, "edgekit-hub", hub_pw, subscribe="edgekit/#")
        anonymous = Login(broker.port, None, None)
        attacker = Login(broker.port, "gate-a", a["EDGEKIT_BRIDGE_PASSWORD"], subscribe="edgekit/#")
        wrong = Login(broker.port, "gate-b", a["EDGEKIT_BRIDGE_PASSWORD"])
        late = Login(broker.port, "gate-c", c["EDGEKIT_BRIDGE_PASSWORD"])
        made += [watch, anonymous, attacker, wrong, late]
        assert all(m.ready.wait(10) for m in made)
        assert anonymous.result.is_failure and wrong.result.is_failure
        assert not attacker.result.is_failure and not late.result.is_failure

        # board A as board B: on B's topic (the broker drops it) and in its payload (the hub rejects it)
        attacker.publish("edgekit/gate-b/events", make_event("gate-b", 1).to_json())
        attacker.publish("edgekit/gate-b/stats", json.dumps({"device": "gate-b", "version": "evil"}))
        attacker.publish("edgekit/gate-a/events", make_event("gate-b", 2).to_json())
        marker = make_event("gate-a", 3, label=MARKUP)  # then one of its own, with markup in what it says
        attacker.publish("edgekit/gate-a/stats", json.dumps({"device": "gate-a", "version": MARKUP}))
        attacker.publish("edgekit/gate-a/events", marker.to_json())
        wait_until(lambda: rows(pg_dsn, "SELECT id FROM events") == [(marker.id,)], 30,
                   what=lambda: f"only A's marker stored: {hub.stats()}")
        wait_until(lambda: any(t == "edgekit/gate-a/events" and marker.id.encode() in p for t, p in watch.got),
                   what="A's marker at the hub's subscriber")
        assert not [t for t, _ in watch.got if t.startswith("edgekit/gate-b/")]
        assert rows(pg_dsn, "SELECT device FROM events") == [("gate-a",)]
        assert rows(pg_dsn, "SELECT device FROM boards") == [("gate-a",)]
        wait_until(lambda: rows(pg_dsn, "SELECT device, reason FROM rejects")
                   == [("gate-a", "device differs from the topic's (payload says 'gate-b')")], what="the reject row")
        assert hub.stats()["foreign_device"] == 1

        # board B's real bridge, from its env file, logs in and its last will / availability reaches the hub
        bdir = tmp_path / "board-b"
        bdir.mkdir()
        port = free_port()
        text = bridge_conf(b["EDGEKIT_DEVICE"], BridgeConfig(host="127.0.0.1", port=broker.port),
                           password=b["EDGEKIT_BRIDGE_PASSWORD"], persistence_dir=f"{bdir}/", listener_port=port)
        (bdir / "board.conf").write_text(text + f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                                         + ("user root\n" if os.geteuid() == 0 else ""))
        board_broker = subprocess.Popen([MOSQUITTO, "-c", str(bdir / "board.conf")], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_port(port, up=True)
        with psycopg.connect(pg_dsn) as c:
            wait_until(lambda: c.execute("SELECT online FROM boards WHERE device = 'gate-b'").fetchall()
                       == [(True,)], 30, what=lambda: f"gate-b online: {hub.stats()}")
        # board A reads its own topics (its commands), never board B's: a marker of its own ends the wait
        attacker.publish("edgekit/gate-a/marker", "after-b")
        wait_until(lambda: ("edgekit/gate-a/marker", b"after-b") in attacker.got, what="A's own marker back")
        assert {t.split("/")[1] for t, _ in attacker.got} == {"gate-a"}
    finally:
        if board_broker is not None:
            board_broker.kill()
            board_broker.wait()
        for m in made:
            with contextlib.suppress(Exception):
                m.close()
        hub.stop()
        broker.kill()

    # what the boards said is printed as text: markup literally, no escape reaches the terminal
    with psycopg.connect(pg_dsn, autocommit=True) as c:  # a name the hub would refuse, from an older hub or by hand
        c.execute("INSERT INTO boards (device, last_seen) VALUES (%s, 0)", ("[bold]d[/bold]\x9b2J",))
    status = run_cli("fleet", "status", "--dsn", pg_dsn)
    events = run_cli("fleet", "events", "--dsn", pg_dsn)
    assert status.returncode == 0 and events.returncode == 0, status.stderr + events.stderr
    assert "[red]x[/red]?]0;owned?" in status.stdout and "[bold]d[/bold]?2J" in status.stdout
    assert "[red]x[/red]?]0;owned?" in events.stdout
    assert not any(ch in status.stdout + events.stdout for ch in "\x1b\x07\x9b")


def test_presign_gives_no_url_for_another_boards_key():
    s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9", aws_access_key_id="k", aws_secret_access_key="s",
                      region_name="us-east-1")  # presigning is local: no server is asked
    own = {"device": "gate-a", "snapshot_key": "site/gate-a/2026-01-02/e1.jpg"}
    foreign = {"device": "gate-a", "snapshot_key": "site/gate-b/2026-01-02/e2.jpg"}
    climbing = {"device": "gate-a", "snapshot_key": "site/gate-a/../gate-b/2026-01-02/e2.jpg"}
    outside = {"device": "gate-a", "snapshot_key": "other/gate-a/2026-01-02/e3.jpg"}
    presign([own, foreign, climbing, outside], s3, "cams", "site")
    assert "/cams/site/gate-a/2026-01-02/e1.jpg?" in own["snapshot_url"]
    assert [r for r in (foreign, climbing, outside) if "snapshot_url" in r] == []


def test_credentials_refuse_logins_the_broker_cannot_hold(tmp_path):
    for names in (["gate:1"], ["a/b"], ["gate+"], ["x", "x"], ["edgekit-hub"], []):
        with pytest.raises(EdgekitError):
            Credentials.generate(names)
    with pytest.raises(EdgekitError, match="topic prefix"):
        Credentials.generate(["gate-a"]).files(tmp_path, prefix="edge/#")
