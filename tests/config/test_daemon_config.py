"""Daemon config: schema, validation errors (one line naming the YAML line), env secrets, CLI exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgekit.config.daemon import config_schema, parse_config
from edgekit.errors import EdgekitError
from edgekit.pipeline.startup import verify_labels

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
device: test
cameras:
  front:
    source: synthetic:1
    zones:
      door:
        polygon: [[0, 0], [100, 0], [100, 100], [0, 100]]
    lines:
      gate: {start: [50, 0], end: [50, 100]}
rules:
  - name: at_door
    labels: [Normal]
    zone: door
    min_frames: 3
mqtt:
  host: 127.0.0.1
  port: PORT
  username: "{EDGEKIT_TEST_USER}"
metrics: {enabled: false}
"""


def good(port: int = 1883) -> str:
    return GOOD.replace("PORT", str(port))


def test_good_config_and_env_secret(monkeypatch):
    monkeypatch.setenv("EDGEKIT_TEST_USER", "alice")
    cfg = parse_config(good())
    assert cfg.mqtt is not None and cfg.mqtt.username == "alice"
    assert cfg.cameras["front"].zones["door"].polygon[2] == (100, 100)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("    min_frames: 3", "    min_frame: 3"), r":14: rules\.0\.min_frame: unknown key"),
        (lambda s: s.replace("[[0, 0], [100, 0], [100, 100], [0, 100]]", "[[0, 0], [100, 0]]"),
         r":7: cameras\.front\.zones\.door\.polygon: .*at least 3 points"),
        (lambda s: s.replace("[[0, 0], [100, 0], [100, 100], [0, 100]]", "[[0, 0], [100, 100], [100, 0], [0, 100]]"),
         r"edges .* cross"),
        (lambda s: s.replace("zone: door", "zone: window"), r"has no zone 'window'"),
        (lambda s: s.replace("min_frames: 3", "min_frames: 0"), r"rules\.0\.min_frames: .*greater than or equal"),
        (lambda s: s.replace("source: synthetic:1", "source: synthetic:1\n    framerate: 3"), r"unknown key 'framerate'"),
        (lambda s: s.replace("{EDGEKIT_TEST_USER}", "{NOT_SET_ANYWHERE}"), r"NOT_SET_ANYWHERE is not set"),
        (lambda s: "cameras: [1, 2", r"invalid YAML in cfg.yaml:1"),
    ],
)
def test_bad_config_is_one_clear_line(edit, message, monkeypatch):
    monkeypatch.setenv("EDGEKIT_TEST_USER", "alice")
    text = edit(good())
    with pytest.raises(EdgekitError, match=message) as ei:
        parse_config(text, "cfg.yaml")
    assert "\n" not in str(ei.value)


def test_unknown_label_against_the_model_card(monkeypatch):
    monkeypatch.setenv("EDGEKIT_TEST_USER", "alice")
    cfg = parse_config(good().replace("labels: [Normal]", "labels: [person]"))
    with pytest.raises(EdgekitError, match=r"label 'person' is not a label of model 'yolov8s-fall'.*Normal"):
        verify_labels(cfg)
    verify_labels(parse_config(good()))


def test_schema_names_every_section():
    props = config_schema()["properties"]
    assert {"cameras", "rules", "mqtt", "metrics", "pose", "profile"} <= set(props)


def cli(*args: str, env_extra: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "EDGEKIT_TEST_USER": "alice", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "edgekit.cli.main", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=env)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CONFIG_ERRORS = [
    (lambda s: s.replace("min_frames", "min_frame"), "unknown key 'min_frame'", ("check", "run")),
    (lambda s: s.replace("[[0, 0], [100, 0], [100, 100], [0, 100]]", "[[0, 0], [1, 1], [2, 2]]"), "zero area",
     ("check", "run")),
    (lambda s: s.replace("labels: [Normal]", "labels: [bus]"), "label 'bus' is not a label", ("check", "run")),
    # A broker that is down or not resolvable (yet, at boot) fails the check but never stops the daemon, which
    # buffers alerts in its outbox (tests/pipeline/test_run_lifecycle.py).
    (lambda s: s.replace("host: 127.0.0.1", "host: no-such-broker.invalid"), "does not resolve", ("check",)),
    (lambda s: s, "unreachable", ("check",)),  # nothing listens on the port
]
COMMANDS = {"check": ["config", "check"], "run": ["run", "--config"]}


@pytest.mark.parametrize(
    ("edit", "message", "command"),
    [(e, m, COMMANDS[c]) for e, m, cmds in CONFIG_ERRORS for c in cmds],
)
def test_cli_bad_config_exits_2_with_one_line(tmp_path, edit, message, command):
    f = tmp_path / "bad.yaml"
    f.write_text(edit(good(_closed_port())))
    r = cli(*command, str(f))
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr


def test_cli_schema_and_good_check(broker, tmp_path):
    r = cli("config", "schema")
    assert r.returncode == 0 and "cameras" in json.loads(r.stdout)["properties"]
    f = tmp_path / "good.yaml"
    f.write_text(good(broker.port))
    r = cli("config", "check", str(f))
    assert r.returncode == 0, r.stderr


def test_examples_validate():
    for f in sorted((REPO / "examples").glob("*.yaml")):
        r = cli("config", "check", "--no-connect", str(f), env_extra={"MQTT_PASSWORD": "x", "MQTT_USER": "u"})
        assert r.returncode == 0, f"{f.name}: {r.stderr}"
