"""``edgekit bundle`` writes the board's Mosquitto bridge: carried in the bundle with no secret in it, filled from the
board's env file and installed by the deploy's board step, then run by a real Mosquitto that forwards the board's
events to a real central Mosquitto."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from edgekit.deploy.bundle import bridge_file, check_config_text, verify_bundle
from edgekit.deploy.remote import BOARD_SCRIPT, SSHTarget
from edgekit.deploy.rollout import DeployOptions, env_text, plan_lines
from edgekit.errors import EdgekitError
from edgekit.hub.bridge import bridge_template, fill_bridge
from tests.conftest import MOSQUITTO, free_port, wait_port
from tests.helpers import REPO, run_cli, wait_until
from tests.hub.test_hub import board, make_event

SECRET = "s3cret-of-the-fleet"  # in the environment while bundling: must not end up in the bundle


def config_text(board_port: int, central_port: int, **bridge: object) -> str:
    extra = "".join(f", {k}: {v}" for k, v in bridge.items())
    return (f"device: porch\nprofile: desktop\ncameras: {{porch: {{source: synthetic}}}}\n"
            f"mqtt: {{host: 127.0.0.1, port: {board_port}}}\n"
            f"bridge: {{host: 127.0.0.1, port: {central_port}{extra}}}\n")


def test_bridge_template_is_checked_when_bundled_and_when_filled() -> None:
    text = config_text(1883, 8883)
    cfg = check_config_text(text, "cam.yaml")
    tpl = bridge_file(text, cfg, "cam.yaml")
    assert tpl is not None and tpl == bridge_template(cfg.bridge, "edgekit", 1883)  # type: ignore[arg-type]
    assert "persistence_location" not in tpl  # a conf.d fragment: Mosquitto refuses a second one
    assert {"topic edgekit/{EDGEKIT_DEVICE}/# out 1", "remote_password {EDGEKIT_BRIDGE_PASSWORD}",
            "remote_username {EDGEKIT_DEVICE}"} <= set(tpl.splitlines())
    filled = fill_bridge(tpl, {"EDGEKIT_BRIDGE_PASSWORD": "pw-1"}, "porch")  # no EDGEKIT_DEVICE: the bundle's
    assert "topic edgekit/porch/# out 1" in filled and "remote_password pw-1" in filled and "{" not in filled
    with pytest.raises(EdgekitError, match="needs EDGEKIT_BRIDGE_PASSWORD: set it in the board's env file"):
        fill_bridge(tpl, {"EDGEKIT_DEVICE": "dock-7", "EDGEKIT_BRIDGE_PASSWORD": ""}, "porch")
    with pytest.raises(EdgekitError, match="cannot hold") as bad:
        fill_bridge(tpl, {"EDGEKIT_BRIDGE_PASSWORD": "a b\nlistener 1 0.0.0.0"}, "porch")
    assert "a b" not in str(bad.value)  # the board step prints this line into the deploy's error
    placeholder = text.replace("host: 127.0.0.1, port: 8883", "host: '{CENTRAL_HOST}', port: 8883")
    with pytest.raises(EdgekitError, match=re.escape("bridge uses a {NAME} placeholder")):
        bridge_file(placeholder, check_config_text(placeholder, "cam.yaml"), "cam.yaml")
    assert bridge_file("device: d\ncameras: {c: {source: synthetic}}\n",
                       check_config_text("device: d\ncameras: {c: {source: synthetic}}\n", "x"), "x") is None


def install(base: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The deploy's board step, run here as the board user would (``board.sh bridge BASE MANAGER``)."""
    (base / "current" / "edgekit.env").write_text(env_text(env))
    return subprocess.run(["sh", "-c", BOARD_SCRIPT, "edgekit-board", "bridge", str(base), "process"],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto not installed (scripts/install_daemon.sh)")
def test_bundle_carries_a_bridge_that_forwards_a_boards_events(broker, consumer_factory, tmp_path: Path) -> None:
    board_port = free_port()
    cfg = tmp_path / "cam.yaml"
    cfg.write_text(config_text(board_port, broker.port))
    out = tmp_path / "porch.tar.gz"
    r = run_cli("bundle", "--config", str(cfg), "--profile", "desktop", "--machine", "x86_64", "--python", "3.11",
                "--no-system-site", "-o", str(out), timeout=1800, env={"EDGEKIT_BRIDGE_PASSWORD": SECRET})
    assert r.returncode == 0, r.stderr
    m = verify_bundle(out)
    assert m.bridge == "mosquitto/edgekit-bridge.conf" and m.bridge in m.files
    assert "EDGEKIT_BRIDGE_PASSWORD" in m.env_vars  # the deploy asks for it before anything reaches the board
    plan = plan_lines(m, SSHTarget.parse("ssh://pi@dock-7"), DeployOptions(manager="systemd"), 9108)
    assert "fill mosquitto/edgekit-bridge.conf from the env file and install it (/etc/mosquitto/conf.d, Mosquitto " \
        "restarted)" in plan

    # unpacked as the deploy does: releases/<id>, `current` pointing at it; the release's venv runs this checkout
    base = tmp_path / "home" / "edgekit"
    rel = base / "releases" / m.id
    rel.mkdir(parents=True)
    with tarfile.open(out) as t:
        small = [x for x in t.getmembers() if not x.name.startswith("wheels/")]
        for member in small:
            f = t.extractfile(member)
            assert f is not None and SECRET.encode() not in f.read(), member.name
        t.extractall(rel, members=small, filter="data")
    (rel / "venv" / "bin").mkdir(parents=True)
    shim = rel / "venv" / "bin" / "edgekit"
    shim.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m edgekit.cli.main \"$@\"\n")
    shim.chmod(0o755)
    (base / "current").symlink_to(f"releases/{m.id}")

    bad = install(base, {"EDGEKIT_DEVICE": "dock-7"})  # the board's env file lacks its password
    assert bad.returncode == 3, bad.stderr
    assert "the Mosquitto bridge needs EDGEKIT_BRIDGE_PASSWORD" in bad.stderr
    ok = install(base, {"EDGEKIT_DEVICE": "dock-7", "EDGEKIT_BRIDGE_PASSWORD": "pw-of-dock-7"})
    assert ok.returncode == 0, ok.stderr
    installed = base / "mosquitto" / "edgekit-bridge.conf"
    text = installed.read_text()
    assert "remote_password pw-of-dock-7" in text and "topic edgekit/dock-7/# out 1" in text
    assert oct(installed.stat().st_mode & 0o777) == "0o600"

    # the board's Mosquitto as Debian sets it up: the main file names the persistence folder, conf.d holds ours
    d = tmp_path / "board-broker"
    d.mkdir()
    main = d / "mosquitto.conf"
    main.write_text(f"persistence true\npersistence_location {d}/\nlog_dest file {d}/mosquitto.log\n"
                    f"listener {board_port} 127.0.0.1\nallow_anonymous true\n"  # the admin's; the bridge opens none
                    f"include_dir {installed.parent}\n" + ("user root\n" if os.geteuid() == 0 else ""))
    watch = consumer_factory(["edgekit/dock-7/#"], client_id="centre-watch")
    assert MOSQUITTO is not None
    proc = subprocess.Popen([MOSQUITTO, "-c", str(main)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    link = None
    try:
        wait_port(board_port, up=True)
        wait_until(lambda: watch.payloads("/available")[-1:] == [b"1"], 60,
                   what=lambda: f"the bridge up (see {d / 'mosquitto.log'})")
        link = board(board_port, "dock-7", tmp_path)  # the daemon's link publishes to the board's own broker
        sent = [make_event("dock-7", i) for i in range(3)]
        for e in sent:
            link.publish_event(e)
        wait_until(lambda: {e["id"] for e in watch.events()} >= {e.id for e in sent}, 60,
                   what=lambda: f"the 3 events through the bridge: {watch.messages}")
    finally:
        if link is not None:
            link.stop(flush_timeout_s=1)
        proc.kill()
        proc.wait()

    # a release without a bridge goes live (a config without `bridge:`, or a rollback to one): ours is taken out
    plain = base / "releases" / "plain"
    (plain / "venv").mkdir(parents=True)
    (base / "current").unlink()
    (base / "current").symlink_to("releases/plain")
    gone = install(base, {"EDGEKIT_DEVICE": "dock-7"})
    assert gone.returncode == 0, gone.stderr
    assert not installed.exists()
