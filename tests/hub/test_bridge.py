"""Boards behind their own Mosquitto bridge: store-and-forward to the central broker, and the bridge's last will."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from edgekit.config.bridge import BridgeConfig
from edgekit.errors import EdgekitError
from edgekit.hub import Hub, migrate
from edgekit.hub.bridge import bridge_conf
from tests.conftest import MOSQUITTO, free_port, wait_port
from tests.helpers import wait_until
from tests.hub.conftest import hub_config
from tests.hub.test_hub import board, make_event, n_events, rows


class BoardBroker:
    """The board's own Mosquitto, configured only by ``bridge_conf``."""

    def __init__(self, workdir: Path, central_port: int) -> None:
        workdir.mkdir()
        self.port = free_port()
        text = bridge_conf("gate-1", BridgeConfig(host="127.0.0.1", port=central_port), password=None,
                           persistence_dir=f"{workdir}/", listener_port=self.port)
        extra = "user root\n" if os.geteuid() == 0 else ""  # keep root, to write into pytest's private folder
        # the board admin's listener (the bridge file opens none): the daemon's port, on loopback
        extra += f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
        self.conf = workdir / "board.conf"
        self.conf.write_text(text + extra + f"log_dest file {workdir}/board.log\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert MOSQUITTO is not None
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port, up=True)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_bridge_conf_text_and_bad_values(caplog):
    cfg = BridgeConfig(host="central.example", port=8883, ca_certs="/etc/edgekit/ca.crt")
    text = bridge_conf("gate-1", cfg, password="s3cret")
    for line in ("address central.example:8883", "topic edgekit/gate-1/# out 1", "cleansession false",
                 "remote_username gate-1", "remote_password s3cret", "bridge_cafile /etc/edgekit/ca.crt",
                 "notification_topic edgekit/gate-1/available", "persistence true"):
        assert line in text.splitlines()
    with pytest.raises(EdgekitError, match="cannot hold"):
        bridge_conf("gate 1", cfg)
    with pytest.raises(EdgekitError, match="password") as bad:
        bridge_conf("gate-1", cfg, password="a b\nlistener 1 0.0.0.0")
    assert "a b" not in str(bad.value)  # a secret is never repeated (the deploy prints this line)
    # the bridge alone: nothing that opens or changes the board's listeners (global settings in Mosquitto 2)
    assert not [ln for ln in text.splitlines() if ln.split(" ")[0] in ("listener", "allow_anonymous", "port")]
    plain = BridgeConfig(host="central.example", port=1883)
    with pytest.raises(EdgekitError, match="in clear"):
        bridge_conf("gate-1", plain, password="s3cret")
    allowed = bridge_conf("gate-1", plain.model_copy(update={"insecure_plaintext": True}), password="s3cret")
    assert "# WARNING: no TLS" in allowed and "bridge_cafile" not in allowed
    assert "central.example without TLS" in caplog.text and "s3cret" not in caplog.text  # said when bundled


@pytest.mark.slow
def test_board_bridge_stores_and_forwards_while_the_centre_is_down(broker, pg_dsn, tmp_path):
    migrate(pg_dsn)
    hub = Hub(hub_config(broker.port, pg_dsn))
    hub.start()
    assert hub.subscribed.wait(30)
    local = BoardBroker(tmp_path / "board", broker.port)
    local.start()
    link = board(local.port, "gate-1", tmp_path)  # the daemon's link talks to the board's own broker
    try:
        for i in range(10):
            link.publish_event(make_event("gate-1", i))
        wait_until(lambda: n_events(pg_dsn) == 10, 60, what=lambda: f"10 events stored: {hub.stats()}")
        broker.stop()  # the centre goes away; the board keeps working
        for i in range(10, 40):
            link.publish_event(make_event("gate-1", i))
        # the board's broker took them (and keeps them)
        wait_until(lambda: len(link.outbox) == 0, 60, what="the board's outbox empty")
        broker.start()
        wait_until(lambda: n_events(pg_dsn) == 40, 90, what=lambda: f"40 events stored: {hub.stats()}")
        ids = {r[0] for r in rows(pg_dsn, "SELECT id FROM events")}
        assert ids == {make_event("gate-1", i).id for i in range(40)}
        local.kill()  # power cut on the board: the bridge's last will says 0 on the centre
        with psycopg.connect(pg_dsn) as c:
            wait_until(lambda: c.execute("SELECT online FROM boards WHERE device = 'gate-1'").fetchall() == [(False,)],
                       60, what="gate-1 offline (the bridge's last will)")
    finally:
        link.stop(flush_timeout_s=1)
        local.kill()
        hub.stop()


def test_fleet_bridge_command_writes_a_config_mosquitto_runs(broker, consumer_factory, tmp_path):
    from tests.helpers import run_cli

    port = free_port()
    daemon_yaml = tmp_path / "daemon.yaml"
    daemon_yaml.write_text(
        "device: dock-7\ncameras: {c: {source: synthetic}}\n"
        f"mqtt: {{host: 127.0.0.1, port: {port}}}\n"
        f"bridge: {{host: 127.0.0.1, port: {broker.port}, password_env: DOCK_BRIDGE_PW}}\n")
    out = tmp_path / "conf.d" / "edgekit-bridge.conf"
    r = run_cli("fleet", "bridge", "--config", str(daemon_yaml), "--out", str(out), "--persistence-dir",
                f"{tmp_path}/", env={"DOCK_BRIDGE_PW": "pw-of-dock-7"})
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    options = {ln.split(" ")[0] for ln in text.splitlines() if ln and not ln.startswith("#")}
    assert not options & {"listener", "allow_anonymous", "port"} and "remote_password pw-of-dock-7" in text
    assert "remote_clientid edgekit-bridge-dock-7" in text and oct(out.stat().st_mode & 0o777) == "0o600"
    # the central broker allows anonymous logins here, so the bridge's login is accepted as given
    c = consumer_factory(["edgekit/dock-7/available"], client_id="bridge-watch")
    extra = "user root\n" if os.geteuid() == 0 else ""
    out.write_text(text + extra + f"listener {port} 127.0.0.1\n")  # the board admin's listener
    assert MOSQUITTO is not None
    proc = subprocess.Popen([MOSQUITTO, "-c", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: c.payloads("/available")[-1:] == [b"1"], 30, what=lambda: f"the bridge up: {c.messages}")
    finally:
        proc.kill()
        proc.wait()
    wait_until(lambda: c.payloads("/available")[-1:] == [b"0"], 60, what="the bridge's last will (0)")

    remote = daemon_yaml.read_text().replace("mqtt: {host: 127.0.0.1", "mqtt: {host: central.example")
    daemon_yaml.write_text(remote)
    r = run_cli("fleet", "bridge", "--config", str(daemon_yaml))
    assert r.returncode == 2 and "set mqtt.host to 127.0.0.1" in r.stderr
    daemon_yaml.write_text("device: d\ncameras: {c: {source: synthetic}}\n")
    r = run_cli("fleet", "bridge", "--config", str(daemon_yaml))
    assert r.returncode == 2 and "no `bridge:` section" in r.stderr
