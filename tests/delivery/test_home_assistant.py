"""The daemon's MQTT discovery in a real Home Assistant (core 2024.3.3, scripts/install_ha.sh), read back through
Home Assistant's REST API: every entity exists on the board's device, a firing rule turns its binary sensor on and
its off_delay turns it off, the camera entity serves the latest snapshot, and a SIGKILLed daemon's last will makes
the entities unavailable. Home Assistant's log must hold no MQTT error (a discovery payload it refuses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgekit import __version__
from edgekit.sources import SyntheticScene, Walker, make_synthetic_video
from tests.conftest import Broker
from tests.delivery.home_assistant import HA_PYTHON, REPO, HomeAssistant
from tests.helpers import wait_until

DEVICE = "ha-test"
FPS = 2.0
# one line per MQTT entity: entity id | friendly name | its device's name, manufacturer, model, software version
ENTITIES = ("{% for e in integration_entities('mqtt') %}{% set d = device_id(e) %}"
            "{{ [e, state_attr(e, 'friendly_name'), device_attr(d, 'name'), device_attr(d, 'manufacturer'), "
            "device_attr(d, 'model'), device_attr(d, 'sw_version')] | join('|') }}\n{% endfor %}")


@pytest.fixture
def home_assistant(broker: Broker, tmp_path: Path) -> Iterator[HomeAssistant]:
    """Home Assistant on a free loopback port, its MQTT integration on the test's broker."""
    if not HA_PYTHON.exists():
        pytest.skip("Home Assistant not installed: scripts/install_ha.sh makes .venv-ha")
    ha = HomeAssistant(tmp_path / "ha", broker.port)
    try:
        ha.start()
        yield ha
    finally:
        ha.stop()


def visitor_video(path: Path) -> Path:
    """60 s: a person walks to the door at 1 s, stands there until 35 s and leaves. Standing that long, the rule
    fires even on a busy machine (paced like a camera, seconds per inference drop most frames); once, since the
    rule's own cooldown outlasts the test."""
    p = {"sprite": 1, "height": 460, "foot_y": 640}
    scene = SyntheticScene([Walker(**p, x0=150.0, x1=640.0, t0=1.0, t1=2.0),
                            Walker(**p, x0=640.0, x1=640.0, t0=2.0 + 1 / FPS, t1=35.0),
                            Walker(**p, x0=640.0, x1=1130.0, t0=35.0 + 1 / FPS, t1=36.0)])
    return make_synthetic_video(path, seconds=60.0, fps=FPS, scene=scene)


def start_daemon(tmp_path: Path, broker_port: int) -> subprocess.Popen[str]:
    cfg = {
        "device": DEVICE, "profile": "desktop", "state_dir": str(tmp_path / "state"),
        "cameras": {"porch": {
            "source": str(visitor_video(tmp_path / "porch.mp4")), "realtime": True, "frame_size": [1280, 720],
            "motion": {"enabled": False},  # the person stands still: detect on every frame
            "zones": {"door": {"polygon": [[440, 400], [840, 400], [840, 720], [440, 720]]}},
        }},
        "rules": [{"name": "at_door", "labels": ["Normal"], "zone": "door", "min_frames": 2, "cooldown_s": 5,
                   "rule_cooldown_s": 600}],
        "mqtt": {"host": "127.0.0.1", "port": broker_port, "snapshots": "topic", "keepalive": 5},
        "metrics": {"enabled": False},
    }
    path = tmp_path / "daemon.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", "run", "--quiet", "--config", str(path)],
                            cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_home_assistant_sees_the_daemon(home_assistant, broker, consumer_factory, tmp_path):
    ha = home_assistant
    c = consumer_factory([f"homeassistant/+/edgekit_{DEVICE}/+/config", f"edgekit/{DEVICE}/#"])
    daemon = start_daemon(tmp_path, broker.port)
    try:
        # every announced entity is in Home Assistant, on the board's device
        def announced() -> dict[str, dict[str, Any]]:
            found = [json.loads(p) for t, p, _ in c.messages if t.startswith("homeassistant/")]
            return {f"{a['device']['name']} {a['name']}": a for a in found}

        def entities() -> dict[str, list[str]]:
            rows = [r.split("|") for r in ha.template(ENTITIES).splitlines() if r.strip()]
            return {r[1]: r for r in rows}

        def all_there() -> bool:
            assert not ha.mqtt_errors(), "\n".join(ha.mqtt_errors())  # refused: it will never be there
            return len(announced()) >= 4 and set(entities()) == set(announced())

        wait_until(all_there, 120, 0.2,
                   what=lambda: f"HA's entities {sorted(entities())} to be {sorted(announced())}; {ha.log_tail()}")
        names = announced()  # board online, camera online, camera, rule, count sensor
        ids = {name: row[0] for name, row in entities().items()}
        for name, (_, _, dev_name, manufacturer, model, sw) in entities().items():
            device = names[name]["device"]
            assert (dev_name, manufacturer, model, sw) == (device["name"], "edgekit", device["model"], __version__)
        rule = ids[f"edgekit {DEVICE} porch at_door"]
        camera = ids[f"edgekit {DEVICE} porch last event"]
        board = ids[f"edgekit {DEVICE} online"]
        assert (rule.split(".")[0], camera.split(".")[0]) == ("binary_sensor", "camera")
        # the rule fired: on, then off after its cooldown (off_delay 5 s)
        wait_until(lambda: ha.state(rule) == "on", 180, 0.1, what=lambda: f"{rule} on (is {ha.state(rule)})")
        wait_until(lambda: ha.state(rule) == "off", 30, 0.1, what=lambda: f"{rule} off (is {ha.state(rule)})")
        assert ha.state(board) == "on"
        # the camera entity serves the latest snapshot, byte for byte
        latest = c.payloads(f"{DEVICE}/porch/snapshot")[-1]
        r = ha.http.get(f"/api/camera_proxy/{camera}")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert r.content[:2] == b"\xff\xd8" and r.content == latest
        # SIGKILL: the broker sends the daemon's last will, and everything it announces becomes unavailable
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait(30)
        wait_until(lambda: ha.state(rule) == ha.state(camera) == "unavailable", 30, 0.1,
                   what=lambda: f"{rule} and {camera} unavailable ({ha.state(rule)}, {ha.state(camera)})")
        assert ha.state(board) == "off"  # the board's connectivity sensor reads the will itself
        assert all(ha.state(e) == "unavailable" for e in ids.values() if e != board)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        out = daemon.communicate(timeout=30)[0]
    # nothing Home Assistant refused or failed on (a bad discovery payload is logged here as an error)
    errors = [ln for ln in ha.log().splitlines() if " ERROR " in ln] + ha.mqtt_errors()
    assert not errors, "\n".join(errors) + "\n--- daemon:\n" + out


# Run by Home Assistant's interpreter: each payload through its own platform schema, unknown keys refused (its
# discovery drops them silently, so a misspelt key would pass the live test above unnoticed).
STRICT = """
import importlib, json, sys
import voluptuous as vol

def strict(schema):
    if isinstance(schema, vol.All):
        return vol.All(*[strict(v) for v in schema.validators])
    if isinstance(schema, vol.Schema):
        return schema.extend({}, extra=vol.PREVENT_EXTRA)
    return schema

for topic, payload in json.load(sys.stdin):
    platform = importlib.import_module("homeassistant.components.mqtt." + topic.split("/")[1])
    try:
        strict(platform.PLATFORM_SCHEMA_MODERN)(json.loads(payload))
    except vol.Invalid as e:
        print(topic, e)
"""


def test_every_discovery_key_is_one_home_assistant_knows(tmp_path):
    if not HA_PYTHON.exists():
        pytest.skip("Home Assistant not installed: scripts/install_ha.sh makes .venv-ha")
    from edgekit.config.daemon import DaemonConfig
    from edgekit.delivery.discovery import dashboard_url, discovery_messages

    cfg = DaemonConfig.model_validate({
        "device": DEVICE, "state_dir": str(tmp_path),
        "cameras": {"porch": {"source": "synthetic:0", "zones": {"door": {"polygon": [[0, 0], [99, 0], [99, 99]]}}}},
        "rules": [{"name": "at_door", "labels": ["Normal"], "zone": "door"}],
        "mqtt": {"snapshots": "topic"},
    })
    msgs = discovery_messages(cfg, {"porch": ["Normal", "Fall"]}, dashboard_url("127.0.0.1"))
    assert {t.split("/")[1] for t, _ in msgs} == {"binary_sensor", "camera", "sensor"}  # every kind announced
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = subprocess.run([str(HA_PYTHON), "-c", STRICT], input=json.dumps(msgs), capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
