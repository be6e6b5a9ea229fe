"""systemd integration: the unit file, `edgekit service install`, and sd_notify READY/WATCHDOG/STOPPING from
a real `edgekit run` process listening on a real notify socket."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from edgekit.pipeline.service import board_unit_text, sd_notify, unit_text

REPO = Path(__file__).resolve().parents[2]


def test_unit_restarts_on_all_but_config_errors_with_watchdog():
    text = unit_text(Path("/etc/edgekit/daemon.yaml"), user="pi", exe="/opt/edgekit/.venv/bin/edgekit",
                     env_file=Path("/etc/edgekit/edgekit.env"))
    for line in ("Type=notify", "Restart=always", "EnvironmentFile=/etc/edgekit/edgekit.env", "UMask=0077", "WatchdogSec=60", "TimeoutStartSec=900", "RestartPreventExitStatus=2", "User=pi",
                 "ExecStart=/opt/edgekit/.venv/bin/edgekit run --config /etc/edgekit/daemon.yaml"):
        assert line in text.splitlines(), line


def test_service_install_writes_the_unit(tmp_path):
    cfg = tmp_path / "d.yaml"
    cfg.write_text(yaml.safe_dump({"cameras": {"c": {"source": "synthetic"}}, "mqtt": None}))
    dirs = {"EDGEKIT_STATE": str(tmp_path / "state"), "EDGEKIT_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "edgekit.cli.main", "service", "install", "--config", str(cfg),
                        "--unit-dir", str(tmp_path), "--name", "edgekit-test"], cwd=REPO, capture_output=True,
                       text=True, timeout=60, env={**os.environ, **dirs})
    assert r.returncode == 0, r.stderr
    unit = (tmp_path / "edgekit-test.service").read_text()
    assert f"--config {cfg}" in unit and "WatchdogSec=" in unit
    for var, folder in dirs.items():  # made before the first start: the sandbox lets the daemon write, not create
        assert Path(folder).is_dir() and f"ReadWritePaths=-{folder}" in unit and f"{var}={folder}" in unit
    r = subprocess.run([sys.executable, "-m", "edgekit.cli.main", "service", "install", "--config",
                        str(tmp_path / "missing.yaml"), "--unit-dir", str(tmp_path)], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_service_install_checks_the_config_with_its_env_file(tmp_path):
    cfg = tmp_path / "d.yaml"
    cfg.write_text(yaml.safe_dump({"cameras": {"c": {"source": "synthetic"}},
                                   "mqtt": {"username": "{MQTT_USER}", "password": "{MQTT_PASSWORD}"}}))
    env = tmp_path / "edgekit.env"
    env.write_text("MQTT_USER=cam\nMQTT_PASSWORD='s3 cr#t'\n")
    env.chmod(0o644)
    base = [sys.executable, "-m", "edgekit.cli.main", "service", "install", "--config", str(cfg), "--unit-dir",
            str(tmp_path), "--env-file", str(env)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MQTT_")}
    r = subprocess.run(base, cwd=REPO, capture_output=True, text=True, timeout=60, env=clean)
    assert r.returncode == 2 and "chmod 600" in r.stderr
    env.chmod(0o600)
    r = subprocess.run(base, cwd=REPO, capture_output=True, text=True, timeout=60, env=clean)
    assert r.returncode == 0, r.stderr
    unit = (tmp_path / "edgekit.service").read_text()
    assert f"EnvironmentFile={env}" in unit and "s3 cr" not in unit


def test_sd_notify_outside_systemd_is_a_noop(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify("READY=1") is False


def test_daemon_notifies_ready_watchdog_and_stopping(tmp_path):
    sock_path = tmp_path / "notify.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(str(sock_path))
    srv.settimeout(30)
    cfg = tmp_path / "d.yaml"
    cfg.write_text(yaml.safe_dump({"state_dir": str(tmp_path / "state"), "mqtt": None,
                                   "metrics": {"enabled": False},
                                   "cameras": {"c": {"source": "synthetic", "enabled": False}}}))
    env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "1000000"}
    env.pop("WATCHDOG_PID", None)
    p = subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", "run", "--quiet", "--config", str(cfg)],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    got: list[str] = []
    try:
        while got.count("WATCHDOG=1") < 2:
            got.append(srv.recv(256).decode())
        p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while "STOPPING=1" not in got and time.monotonic() < deadline:
            got.append(srv.recv(256).decode())
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
        srv.close()
    assert got[0] == "READY=1" and "STOPPING=1" in got
    assert p.returncode == 0, out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (apt-get install systemd)")
def test_both_units_are_sandboxed(tmp_path):
    """`systemd-analyze security` rates each unit's exposure from 0 (locked down) to 10; "OK" is 3.5 or less."""
    units = {"edgekit.service": unit_text(Path("/etc/edgekit/daemon.yaml"), user="pi", exe="/opt/e/bin/edgekit",
                                          state_dir="/home/pi/.local/state/edgekit",
                                          cache_dir="/home/pi/.cache/edgekit", writable=["/srv/clips"]),
             "edgekit-board.service": board_unit_text()}
    for name, text in units.items():
        (tmp_path / name).write_text(text)
        r = subprocess.run(["systemd-analyze", "security", "--offline=true", name], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d)", r.stdout)
        assert m is not None, r.stdout + r.stderr
        assert float(m.group(1)) <= 3.5, f"{name}: {m.group(1)}\n{r.stdout}"
    for line in ("ReadWritePaths=-/home/pi/.local/state/edgekit", "ReadWritePaths=-/srv/clips",
                 "DeviceAllow=char-video4linux rw", "ProtectSystem=strict"):
        assert line in units["edgekit.service"].splitlines(), line
