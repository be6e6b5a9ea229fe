"""Shared fixtures: a real Mosquitto broker on a free loopback port, and an MQTT consumer that records messages.

The broker is the Debian `mosquitto` binary (installed by scripts/install_daemon.sh in CI). Tests can stop,
SIGKILL and restart it to play a flaky broker. Persistence is on (autosaved every second) so a consumer's
persistent session, and the QoS 1 messages queued for it, survive a kill like on a real installation.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Subacks, wait_until

# A developer's own tuned plans (`edgekit tune` in ~/.config/edgekit/plans) must not change what the tests run;
# the tune tests point EDGEKIT_PLANS at their own folders.
os.environ["EDGEKIT_PLANS"] = tempfile.mkdtemp(prefix="edgekit-test-plans-")
os.environ.pop("EDGEKIT_RELEASE", None)  # nor a deployed release's shipped plan (the bundle tests point at theirs)

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, up: bool, timeout: float = 10.0) -> None:
    def state() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return up
        except OSError:
            return not up

    wait_until(state, timeout, what=f"port {port} to go {'up' if up else 'down'}")


class Broker:
    """A Mosquitto process we control: ``start``, ``stop`` (SIGTERM), ``kill`` (SIGKILL), ``restart``."""

    def __init__(self, workdir: Path) -> None:
        if MOSQUITTO is None:
            raise RuntimeError("mosquitto not installed: apt-get install -y mosquitto (scripts/install_daemon.sh)")
        self.port = free_port()
        self.dir = workdir
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {workdir}/\nautosave_interval 1\nmax_queued_messages 100000\n"
            f"log_dest file {workdir}/mosquitto.log\n"
            # started as root it would switch to the `mosquitto` user, which cannot write its persistence file
            # into pytest's root-only folder: retained messages and sessions would not survive a restart
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port, up=True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        wait_port(self.port, up=False)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        wait_port(self.port, up=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_saved(self, timeout: float = 30.0) -> None:
        """Wait until the broker writes its persistence file again (it autosaves every second or two): what it held
        now, a consumer's session included, then survives a SIGKILL. Mosquitto saves on its only thread, between
        packets, so any save seen after this call began holds everything acknowledged before it."""
        db = self.dir / "mosquitto.db"

        def mtime() -> int | None:
            try:
                return db.stat().st_mtime_ns
            except FileNotFoundError:
                return None

        before = mtime()
        wait_until(lambda: mtime() not in (None, before), timeout, what=f"Mosquitto to save {db}")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh Mosquitto on a free loopback port, removed after the test."""
    if MOSQUITTO is None:
        pytest.skip("mosquitto not installed (scripts/install_daemon.sh installs it)")
    d = tmp_path / "broker"
    d.mkdir()
    b = Broker(d)
    b.start()
    yield b
    with contextlib.suppress(Exception):
        b.kill()


class Consumer:
    """Subscribes with a persistent session (QoS 1) and records every message, duplicates included."""

    def __init__(self, port: int, topics: list[str], client_id: str = "test-consumer") -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.connects = 0  # connections so far (a reconnect after a broker restart adds one)
        self.topics = topics
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  protocol=mqtt.MQTTv311)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.subacks = Subacks(self.client)
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        self.subacks.wait(timeout=30)  # subscribed (a test that SIGKILLs the broker next: ``broker.wait_saved()``)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe([(t, 1) for t in self.topics])  # again after a reconnect: the session may be gone
        self.connects += 1

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def payloads(self, topic_suffix: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t.endswith(topic_suffix)]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(p) for p in self.payloads("/events")]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def consumer_factory(broker: Broker) -> Iterator[Any]:
    """Make consumers on the test broker: ``consumer_factory(["edgekit/#"])``."""
    made: list[Consumer] = []

    def make(topics: list[str], client_id: str = "test-consumer") -> Consumer:
        c = Consumer(broker.port, topics, client_id)
        made.append(c)
        return c

    yield make
    for c in made:
        with contextlib.suppress(Exception):
            c.close()
