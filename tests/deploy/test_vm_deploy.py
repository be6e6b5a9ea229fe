"""`edgekit deploy` onto a real systemd: a Debian 12 VM (tests/vm.py) as the board, SSH as its ``edgekit`` user.

The loopback deploy tests run the service with the ``process`` stand-in; here the units run under systemd as PID 1,
with their sandbox (ProtectSystem, ProtectHome, ReadWritePaths, DevicePolicy) for real. For each manager
(``systemd``, ``systemd-user``): install → update → a broken bundle (its camera never delivers, so /healthz never
turns ok) rolled back to the update, the service active again. The daemon reports to a Mosquitto on the host, which
the guest reaches at 10.0.2.2 (its stats arrive there). Under TCG everything is 10-50× slower: each phase's time is printed (``-s``).
"""

from __future__ import annotations

import json
import shutil
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Broker, Consumer, free_port
from tests.deploy.conftest import build_bundle
from tests.deploy.test_arm64 import int8_model
from tests.deploy.test_deploy_ssh import edgekit, manifest_id
from tests.helpers import wait_until
from tests.vm import HOST_FROM_GUEST, VM, vm_image

IMAGE = vm_image()
pytestmark = [pytest.mark.heavy, pytest.mark.timeout(7200),
              pytest.mark.skipif(IMAGE is None, reason="no VM image: scripts/install_vm.sh builds it")]

# The rpi5 profile's INT8 detector (decode tail in float) at 256: under TCG (load 12-14) one inference took 19-23 s,
# where FP32 at 128 took 61-65 s, longer than the daemon's 60 s camera-hang limit, so the watchdog killed it.
MODEL = "models/yolov8s-fall-256-int8.onnx"
HEALTH_S = "900"  # install on TCG: first start imports numpy, OpenCV and ONNX Runtime at 10-50× slower
CONFIG = f"""\
device: vmboard
profile: desktop
model: {MODEL}
cameras:
  porch:
    source: "{{CAMERA}}"
    realtime: true
    zones:
      middle: {{polygon: [[320, 0], [960, 0], [960, 720], [320, 720]]}}
rules:
  - {{name: person_in_middle, labels: [Normal, Fall], zone: middle, min_frames: 2, cooldown_s: 5}}
mqtt:
  host: {HOST_FROM_GUEST}
  port: "{{MQTT_PORT}}"
  stats_interval_s: 5
metrics: {{enabled: true, port: "{{METRICS_PORT}}"}}
"""

# The reboot test's daemon: any person fires (one event per track); walkers slow enough (600 s to cross) that a
# track survives the ~20 s between two processed frames under TCG.
EVENTS_CONFIG = f"""\
device: vmboard
profile: desktop
model: {MODEL}
cameras:
  porch:
    source: synthetic:1:600
    realtime: true
rules:
  - {{name: person_seen, labels: [Normal, Fall], min_frames: 1, cooldown_s: 1}}
mqtt:
  host: {HOST_FROM_GUEST}
  port: "{{MQTT_PORT}}"
  stats_interval_s: 5
metrics: {{enabled: true, port: "{{METRICS_PORT}}"}}
"""

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VM]:
    assert IMAGE is not None
    t0 = time.monotonic()
    with VM(IMAGE, tmp_path_factory.mktemp("vm"), memory_mb=2048) as v:
        TIMINGS["boot"] = time.monotonic() - t0
        yield v
    for k, s in TIMINGS.items():
        print(f"[vm-deploy] {k}: {s:.0f} s")


def bridged(config: str, broker_port: int) -> str:
    """``config`` publishing to the board's own Mosquitto, bridged to the host's broker (the port is fixed in the
    bundle's bridge file, so the bundles are built once the host's broker has its port)."""
    return config.replace(f"host: {HOST_FROM_GUEST}\n  port: \"{{MQTT_PORT}}\"", "host: 127.0.0.1\n  port: 1883") + (
        f"bridge: {{host: {HOST_FROM_GUEST}, port: {broker_port}, insecure_plaintext: true}}\n")


@pytest.fixture(scope="module")
def vm_bundles(tmp_path_factory: pytest.TempPathFactory, host_broker: Broker) -> dict[str, Path]:
    """v1, v2 (a changed cooldown) and broken (an RTSP camera nobody serves: never healthy); the same three with
    the board's Mosquitto bridged to the host's (``bridged-*``: the ``systemd`` manager installs the bridge); and
    ``events`` (the INT8 detector at 256 and fast walkers: an event every few frames even under TCG)."""
    t0 = time.monotonic()
    d = tmp_path_factory.mktemp("vmbundles")
    (d / "models").mkdir()
    shutil.copy2(int8_model(), d / MODEL)
    v1 = build_bundle(d / "v1.tar.gz", CONFIG)
    with tarfile.open(v1) as t:
        name = next(m for m in t.getnames() if m.startswith("wheels/edgekit-"))
        t.extract(name, d, filter="data")
    configs = {"v2": CONFIG.replace("cooldown_s: 5", "cooldown_s: 6"),
               "broken": CONFIG.replace('"{CAMERA}"', "rtsp://127.0.0.1:9/none")}
    out = {"v1": v1, **{k: build_bundle(d / f"{k}.tar.gz", c, d / name) for k, c in configs.items()}}
    for k, c in {"v1": CONFIG, **configs}.items():
        out[f"bridged-{k}"] = build_bundle(d / f"bridged-{k}.tar.gz", bridged(c, host_broker.port), d / name)
    out["events"] = build_bundle(d / "events.tar.gz", EVENTS_CONFIG, d / name)
    TIMINGS[f"bundles ({len(out)}, host)"] = time.monotonic() - t0
    return out


@pytest.fixture(scope="module")
def host_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    # 127.0.0.1 on the host is where qemu's user networking connects the guest's 10.0.2.2 to
    b = Broker(tmp_path_factory.mktemp("broker"))
    b.start()
    yield b
    b.kill()


def vm_deploy(vm: VM, bundle: Path, env: Path, manager: str, base: str, *extra: str,
              phase: str) -> tuple[int, str]:
    # ConnectTimeout 60: at a load average of ~28 a deploy's first connection timed out in the banner exchange
    given = [o.replace("ConnectTimeout=10", "ConnectTimeout=60") for o in vm.options]
    opts = [a for i in range(0, len(given), 2) for a in
            ((["--identity", given[i + 1]]) if given[i] == "-i" else ["--ssh-option", given[i + 1]])]
    t0 = time.monotonic()
    res = edgekit("deploy", str(bundle), f"ssh://edgekit@127.0.0.1:{vm.port}", "--env-file", str(env),
                  "--manager", manager, "--base", base, "--health-timeout", HEALTH_S, *opts, *extra, timeout=3600)
    TIMINGS[f"{manager}: {phase}"] = time.monotonic() - t0
    return res.returncode, res.stdout + res.stderr


def board_env(tmp: Path, broker: Broker, metrics_port: int) -> Path:
    f = tmp / f"board-{metrics_port}.env"
    f.write_text(f"MQTT_PORT={broker.port}\nMETRICS_PORT={metrics_port}\nCAMERA=synthetic:1:40\n"
                 "EDGEKIT_BRIDGE_PASSWORD=vmboard-secret\n")  # the host's test broker takes any login
    return f


def live(vm: VM, base: str) -> str:
    return vm.ssh(f"basename \"$(readlink /home/edgekit/{base}/current)\"", check=False).stdout.strip()


def unit_state(vm: VM, manager: str) -> str:
    cmd = "systemctl is-active edgekit" if manager == "systemd" else \
        "sudo -u edgekit XDG_RUNTIME_DIR=/run/user/$(id -u edgekit) systemctl --user is-active edgekit"
    return vm.ssh(cmd, check=False).stdout.strip()


def journal(vm: VM, manager: str) -> str:
    cmd = "journalctl -u edgekit --no-pager -n 40" if manager == "systemd" else \
        "journalctl _UID=$(id -u edgekit) --no-pager -n 40"
    return vm.ssh(cmd, check=False).stdout


def stats(consumer: Consumer) -> list[bytes]:
    with consumer.lock:
        return [payload for topic, payload, _ in consumer.messages if topic.endswith("/vmboard/stats")]


def install_update_rollback(vm: VM, all_bundles: dict[str, Path], broker: Broker, tmp: Path, manager: str,
                            base: str, prefix: str = "") -> None:
    mport = free_port()  # the guest's port (nothing on the host listens on it)
    env = board_env(tmp, broker, mport)
    bundles = {k: all_bundles[prefix + k] for k in ("v1", "v2", "broken")}
    consumer = Consumer(broker.port, ["edgekit/#"], client_id=f"vm-deploy-{manager}")
    try:
        rc, out = vm_deploy(vm, bundles["v1"], env, manager, base, phase="install v1")
        assert rc == 0, out + journal(vm, manager)
        assert live(vm, base) == manifest_id(bundles["v1"]) and unit_state(vm, manager) == "active"
        # The daemon reaches the host's broker through 10.0.2.2: its stats arrive. (Not an event: one inference
        # takes ~45 s under TCG, so no track lasts the rule's two frames.)
        t0 = time.monotonic()
        wait_until(lambda: stats(consumer), 300, 1, what="the VM daemon's stats on the host's broker")
        TIMINGS[f"{manager}: first stats after install"] = time.monotonic() - t0

        rc, out = vm_deploy(vm, bundles["v2"], env, manager, base, phase="update to v2")
        assert rc == 0, out + journal(vm, manager)
        assert live(vm, base) == manifest_id(bundles["v2"]) and unit_state(vm, manager) == "active"

        rc, out = vm_deploy(vm, bundles["broken"], env, manager, base, "--health-timeout", "120",
                            phase="broken v3, rolled back")
        assert rc == 2, out
        assert f"rolled back to {manifest_id(bundles['v2'])}" in out, out
        assert live(vm, base) == manifest_id(bundles["v2"])
        assert unit_state(vm, manager) == "active", journal(vm, manager)
    finally:
        consumer.close()


def mosquitto_started(vm: VM) -> str:
    return vm.ssh("systemctl show mosquitto -p ExecMainStartTimestampMonotonic --value").stdout.strip()


def test_deploy_with_systemd_in_a_vm(vm: VM, vm_bundles: dict[str, Path], host_broker: Broker,
                                     tmp_path: Path) -> None:
    """The system unit, its daemon publishing to the board's own Mosquitto, which the deploy bridges to the host's
    broker (the stats the test waits for come that way)."""
    before = mosquitto_started(vm)
    install_update_rollback(vm, vm_bundles, host_broker, tmp_path, "systemd", "edgekit", prefix="bridged-")
    conf = vm.ssh("cat /etc/mosquitto/conf.d/edgekit-bridge.conf").stdout
    assert f"address {HOST_FROM_GUEST}:{host_broker.port}" in conf and "remote_password vmboard-secret" in conf, conf
    assert vm.ssh("systemctl is-active mosquitto").stdout.strip() == "active"
    assert mosquitto_started(vm) != before  # restarted with the bridge
    unit = vm.ssh("systemctl show edgekit -p User -p ProtectSystem -p ProtectHome -p DevicePolicy").stdout
    assert "User=edgekit" in unit and "ProtectSystem=strict" in unit and "DevicePolicy=closed" in unit, unit
    vm.ssh("systemctl disable --now edgekit")  # the next test's user service takes the camera and port


def test_deploy_with_systemd_user_in_a_vm(vm: VM, vm_bundles: dict[str, Path], host_broker: Broker,
                                          tmp_path: Path) -> None:
    install_update_rollback(vm, vm_bundles, host_broker, tmp_path, "systemd-user", "edgekit-user")
    # the deploy enabled linger: the user's manager (and the service) outlive the SSH session
    assert "Linger=yes" in vm.ssh("loginctl show-user edgekit -p Linger").stdout


RULE = "person_seen"  # EVENTS_CONFIG's rule: the reboot test counts its events only


def board_ids(vm: VM, base: str, db: str, query: str) -> list[str]:
    """The first column of ``query`` on the board's ``state/<db>.db``, read as the service's user (a root reader
    could leave root-owned WAL files behind that the service then cannot open)."""
    script = (f"import sqlite3, json; db = sqlite3.connect('file:/home/edgekit/{base}/state/{db}.db?mode=ro', "
              f"uri=True); print(json.dumps([r[0] for r in db.execute('{query}')]))")
    return [str(v) for v in json.loads(vm.ssh(f'sudo -u edgekit python3 -c "{script}"').stdout)]


def waiting_ids(vm: VM, base: str) -> list[str]:
    """Ids of the reboot test's events still in the outbox (keys are event ids)."""
    stored = set(board_ids(vm, base, "events", f"SELECT id FROM events WHERE rule = \\'{RULE}\\'"))
    return [k for k in board_ids(vm, base, "outbox", "SELECT key FROM outbox ORDER BY seq") if k in stored]


def test_reboot_with_the_broker_down_delivers_every_event_exactly_once(
        vm: VM, vm_bundles: dict[str, Path], tmp_path: Path) -> None:
    """The daemon (system unit) makes events while the host's broker is down; the VM reboots; the service comes
    back by itself with the events still in its outbox; once the broker is back, every event id the board stored
    arrives exactly once."""
    base = "edgekit"  # the systemd test's base when run after it: its dependency layer is reused
    vm.ssh("systemctl disable --now edgekit; sudo -u edgekit XDG_RUNTIME_DIR=/run/user/$(id -u edgekit) "
           "systemctl --user disable --now edgekit", check=False)  # whatever an earlier test left running
    broker = Broker(tmp_path)
    broker.start()
    env = board_env(tmp_path, broker, free_port())
    consumer = Consumer(broker.port, ["edgekit/vmboard/events"], client_id="vm-reboot")

    def received() -> list[str]:
        return [e["id"] for e in consumer.events() if e["rule"] == RULE]

    try:
        rc, out = vm_deploy(vm, vm_bundles["events"], env, "systemd", base, phase="reboot: install the event daemon")
        assert rc == 0, out + journal(vm, "systemd")
        t0 = time.monotonic()
        wait_until(received, 900, 2, what="a first event from the VM")
        TIMINGS["reboot: first event"] = time.monotonic() - t0

        broker.stop()
        vm.ssh("systemctl --no-block restart edgekit")  # a new process, new tracks: each walker in view fires again
        t0 = time.monotonic()
        # One event is enough to show what waits across the reboot; a second needs a second track, which at one
        # processed frame per ~10 s under TCG may not come within the wait (the first run waited 900 s for two).
        wait_until(lambda: len(waiting_ids(vm, base)) >= 1, 900, 5, what="an event waiting in the VM's outbox")
        TIMINGS["reboot: an event in the outbox"] = time.monotonic() - t0
        before = waiting_ids(vm, base)
        t0 = time.monotonic()
        vm.reboot()
        TIMINGS["reboot: the VM rebooted"] = time.monotonic() - t0
        # enabled, so it started by itself; its camera and model take a while to load under TCG
        wait_until(lambda: unit_state(vm, "systemd") == "active", 600, 5, what="the service active after the reboot")
        waiting = waiting_ids(vm, base)  # the broker is still down: what waited before, and maybe more since
        assert set(before) <= set(waiting), (before, waiting)  # the reboot lost nothing that waited

        t0 = time.monotonic()
        broker.start()
        wait_until(lambda: set(waiting) <= set(received()), 600, 2, what="the events that waited across the reboot")
        TIMINGS["reboot: waiting events delivered"] = time.monotonic() - t0
        vm.ssh("systemctl stop edgekit")
        stored = set(board_ids(vm, base, "events", f"SELECT id FROM events WHERE rule = \\'{RULE}\\'"))
        pending = set(waiting_ids(vm, base))
        wait_until(lambda: stored - pending <= set(received()), 120, 1, what="every published event")
        ids = received()
        assert len(ids) == len(set(ids)), f"duplicates: {sorted(i for i in set(ids) if ids.count(i) > 1)}"
        # none lost (all but what the stop left in the outbox arrived), none made up
        assert stored - pending <= set(ids) <= stored, (sorted(ids), sorted(stored), sorted(pending))
        print(f"[vm-reboot] {len(stored)} events stored, {len(waiting)} waited across the reboot, "
              f"{len(ids)} delivered once each, {len(pending)} still in the outbox at the stop")
    finally:
        consumer.close()
        broker.kill()
