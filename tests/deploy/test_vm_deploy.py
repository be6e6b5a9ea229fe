"""`edgekit deploy` onto a real systemd: a Debian 12 VM (tests/vm.py) as the board, SSH as its ``edgekit`` user.

The loopback deploy tests run the service with the ``process`` stand-in; here the units run under systemd as PID 1,
with their sandbox (ProtectSystem, ProtectHome, ReadWritePaths, DevicePolicy) for real. For each manager
(``systemd``, ``systemd-user``): install → update → a broken bundle (its camera never delivers, so /healthz never
turns ok) rolled back to the update, the service active again. The daemon reports to a Mosquitto on the host, which
the guest reaches at 10.0.2.2 (its stats arrive there). Under TCG everything is 10-50× slower: each phase's time is printed (``-s``).
"""

from __future__ import annotations

import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Broker, Consumer, free_port
from tests.deploy.conftest import REPO, build_bundle
from tests.deploy.resize_onnx import resize_yolov8
from tests.deploy.test_deploy_ssh import edgekit, manifest_id
from tests.helpers import wait_until
from tests.vm import HOST_FROM_GUEST, VM, vm_image

IMAGE = vm_image()
pytestmark = [pytest.mark.heavy, pytest.mark.timeout(7200),
              pytest.mark.skipif(IMAGE is None, reason="no VM image: scripts/install_vm.sh builds it")]

SIZE = 128  # the smallest input the detector still sees the synthetic walkers at: TCG inference is slow
HEALTH_S = "900"  # install on TCG: first start imports numpy, OpenCV and ONNX Runtime at 10-50× slower
CONFIG = f"""\
device: vmboard
profile: desktop
model: models/yolov8s-fall-{SIZE}.onnx
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


@pytest.fixture(scope="module")
def vm_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """v1, v2 (a changed cooldown) and broken (an RTSP camera nobody serves: never healthy)."""
    t0 = time.monotonic()
    d = tmp_path_factory.mktemp("vmbundles")
    (d / "models").mkdir()
    resize_yolov8(REPO / "models/yolov8s-fall.onnx", d / "models" / f"yolov8s-fall-{SIZE}.onnx", SIZE)
    v1 = build_bundle(d / "v1.tar.gz", CONFIG)
    with tarfile.open(v1) as t:
        name = next(m for m in t.getnames() if m.startswith("wheels/edgekit-"))
        t.extract(name, d, filter="data")
    v2 = build_bundle(d / "v2.tar.gz", CONFIG.replace("cooldown_s: 5", "cooldown_s: 6"), d / name)
    broken = build_bundle(d / "broken.tar.gz", CONFIG.replace('"{CAMERA}"', "rtsp://127.0.0.1:9/none"), d / name)
    TIMINGS["bundles (3, host)"] = time.monotonic() - t0
    return {"v1": v1, "v2": v2, "broken": broken}


@pytest.fixture(scope="module")
def host_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    # 127.0.0.1 on the host is where qemu's user networking connects the guest's 10.0.2.2 to
    b = Broker(tmp_path_factory.mktemp("broker"))
    b.start()
    yield b
    b.kill()


def vm_deploy(vm: VM, bundle: Path, env: Path, manager: str, base: str, *extra: str,
              phase: str) -> tuple[int, str]:
    opts = [a for i in range(0, len(vm.options), 2) for a in
            ((["--identity", vm.options[i + 1]]) if vm.options[i] == "-i" else ["--ssh-option", vm.options[i + 1]])]
    t0 = time.monotonic()
    res = edgekit("deploy", str(bundle), f"ssh://edgekit@127.0.0.1:{vm.port}", "--env-file", str(env),
                  "--manager", manager, "--base", base, "--health-timeout", HEALTH_S, *opts, *extra, timeout=3600)
    TIMINGS[f"{manager}: {phase}"] = time.monotonic() - t0
    return res.returncode, res.stdout + res.stderr


def board_env(tmp: Path, broker: Broker, metrics_port: int) -> Path:
    f = tmp / f"board-{metrics_port}.env"
    f.write_text(f"MQTT_PORT={broker.port}\nMETRICS_PORT={metrics_port}\nCAMERA=synthetic:1:40\n")
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


def install_update_rollback(vm: VM, bundles: dict[str, Path], broker: Broker, tmp: Path, manager: str,
                            base: str) -> None:
    mport = free_port()  # the guest's port (nothing on the host listens on it)
    env = board_env(tmp, broker, mport)
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


def test_deploy_with_systemd_in_a_vm(vm: VM, vm_bundles: dict[str, Path], host_broker: Broker,
                                     tmp_path: Path) -> None:
    install_update_rollback(vm, vm_bundles, host_broker, tmp_path, "systemd", "edgekit")
    unit = vm.ssh("systemctl show edgekit -p User -p ProtectSystem -p ProtectHome -p DevicePolicy").stdout
    assert "User=edgekit" in unit and "ProtectSystem=strict" in unit and "DevicePolicy=closed" in unit, unit
    vm.ssh("systemctl disable --now edgekit")  # the next test's user service takes the camera and port


def test_deploy_with_systemd_user_in_a_vm(vm: VM, vm_bundles: dict[str, Path], host_broker: Broker,
                                          tmp_path: Path) -> None:
    install_update_rollback(vm, vm_bundles, host_broker, tmp_path, "systemd-user", "edgekit-user")
    # the deploy enabled linger: the user's manager (and the service) outlive the SSH session
    assert "Linger=yes" in vm.ssh("loginctl show-user edgekit -p Linger").stdout
