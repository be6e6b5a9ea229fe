"""The kernel camera on a booted OS, and ``usb:0`` on it through the daemon a board runs (issue "boards in a box").

First the harness: a Debian 12 VM with systemd as PID 1 boots, udev makes the ``vivid`` driver's device nodes, and
a real V4L2 client streams frames. Then a Debian 12 VM (systemd, udev, the kernel's ``vivid`` driver) runs ``edgekit run`` as a systemd service on
``usb:0``; the host runs the Mosquitto that stands where Home Assistant's broker would be. The guest imports the
host's edgekit tree and its venv's packages over read-only 9p shares (same Debian 12, same CPython 3.11 ABI): the
deploy path is proven by the deploy VM tests, this file proves the camera path.

Unplug is a real hot-unplug as the kernel sees it: the vivid device is unbound from its driver through sysfs (what
the USB core does when a camera is pulled), its ``/dev/video0`` vanishes while the daemon holds it open, and
``modprobe -r vivid`` then succeeds only because the daemon let go of the dead handle. ``modprobe vivid`` plugs it
back in. Inference under TCG takes tens of seconds a frame, so the detector runs at 160 px and the test pattern is
still (the motion gate keeps it from the detector after the first frame): the camera path is what is timed here.
"""

from __future__ import annotations

import json
import shlex
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgekit.contract.topics import Topics
from tests.conftest import Broker, Consumer
from tests.helpers import REPO, run_cli, wait_until
from tests.vm import HOST_FROM_GUEST, VM, vm_image

IMAGE = vm_image()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(IMAGE is None, reason="no VM image: scripts/install_vm.sh builds it")]

UNIT = "edgekit-usbcam"
STATS = "/var/lib/edgekit-usbcam/stats.json"
TOPICS = Topics(device="vmcam")
PY = "PYTHONPATH=/mnt/tree:/mnt/site python3"


@dataclass
class Rig:
    vm: VM
    consumer: Consumer

    def stats(self) -> dict[str, Any]:
        out = self.vm.ssh(f"cat {STATS} 2>/dev/null || echo '{{}}'", timeout=120).stdout
        return dict(json.loads(out or "{}").get("cameras", {}).get("door", {}))

    def healthz(self) -> tuple[int, dict[str, Any]]:
        code = ("import json,urllib.request,urllib.error\n"
                "try:\n r=urllib.request.urlopen('http://127.0.0.1:9108/healthz',timeout=20); c,b=r.status,r.read()\n"
                "except urllib.error.HTTPError as e:\n c,b=e.code,e.read()\n"
                "print(c); print(b.decode())")
        lines = self.vm.ssh(f"python3 -c {shlex.quote(code)}", timeout=120).stdout.splitlines()
        return int(lines[0]), json.loads("\n".join(lines[1:]))

    def availability(self) -> str | None:
        """The last payload Home Assistant would have read for the camera's availability."""
        with self.consumer.lock:
            got = [p for t, p, _ in self.consumer.messages if t == TOPICS.camera_available("door")]
        return got[-1].decode() if got else None

    def service(self) -> dict[str, str]:
        out = self.vm.ssh(f"systemctl show -p MainPID -p NRestarts -p ActiveState {UNIT}").stdout
        return dict(line.split("=", 1) for line in out.split())


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped detector exported at 160 px, in a folder the guest mounts (with the daemon's config)."""
    model = tmp_path_factory.mktemp("usbcam") / "model"
    r = run_cli("export", str(REPO / "models" / "yolov8s-fall.onnx"), "--to", "onnx", "--precision", "fp32",
                "--imgsz", "160", "--out", str(model))
    assert r.returncode == 0, r.stderr
    return model


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory, model: Path) -> Iterator[VM]:
    assert IMAGE is not None
    site = Path(sysconfig.get_paths()["purelib"])
    with VM(IMAGE, tmp_path_factory.mktemp("vm"), shares={"tree": REPO, "site": site, "model": model}) as v:
        yield v


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, vm: VM, model: Path) -> Iterator[Rig]:
    broker = Broker(tmp_path_factory.mktemp("broker"))
    broker.start()
    cfg = {"device": "vmcam", "state_dir": "/var/lib/edgekit-usbcam",
           "model": f"/mnt/model/{next(model.glob('*-160_fp32.onnx')).name}",
           # YUYV, not OpenCV's own first choice (BGR3, which vivid also offers): the pixel format asked for is used
           "cameras": {"door": {"source": "usb:0", "width": 640, "height": 360, "fps": 10, "pixel_format": "YUYV"}},
           "mqtt": {"host": HOST_FROM_GUEST, "port": broker.port, "stats_interval_s": 2},
           "metrics": {"enabled": True, "port": 9108}}
    (model / "usbcam.yaml").write_text(yaml.safe_dump(cfg))
    try:
        vm.mount_shares()
        vm.ssh("v4l2-ctl -d /dev/video0 -c osd_text_mode=2")  # no running clock in the picture: a still scene
        vm.ssh(f"systemd-run --unit={UNIT} --setenv=PYTHONPATH=/mnt/tree:/mnt/site --setenv=HOME=/root "
               "python3 -m edgekit.cli.main --verbose run --config /mnt/model/usbcam.yaml")
        consumer = Consumer(broker.port, [f"{TOPICS.base}/#"], client_id="ha-stand-in")
        try:
            yield Rig(vm, consumer)
        finally:
            consumer.close()
    finally:
        broker.kill()


def test_the_vm_boots_systemd_and_its_kernel_camera_streams(vm: VM, tmp_path: Path) -> None:
    state = vm.ssh("systemctl is-system-running --wait", check=False, timeout=600).stdout.strip()
    assert state in ("running", "degraded"), state
    assert vm.ssh("ps -p 1 -o comm=").stdout.strip() == "systemd"
    devices = vm.ssh("v4l2-ctl --list-devices").stdout
    assert "vivid" in devices and "/dev/video0" in devices, devices
    fmt = vm.ssh("v4l2-ctl -d /dev/video0 --set-fmt-video=width=640,height=360 --get-fmt-video").stdout
    assert "640/360" in fmt, fmt
    got = vm.ssh("v4l2-ctl -d /dev/video0 --stream-mmap --stream-count=5 --stream-to=/tmp/f.raw && "
                 "stat -c %s /tmp/f.raw").stdout.split()
    assert int(got[-1]) >= 5 * 640 * 360, got  # five frames of at least one byte per pixel
    assert vm.ssh("id -nG edgekit").stdout.split().count("video") == 1  # the board user may open the camera


def test_usb0_streams_in_the_mode_it_asked_for(rig: Rig) -> None:
    wait_until(lambda: rig.stats().get("processed", 0) >= 1 and rig.stats().get("status") == "ok", 900, 5,
               what="the daemon to process a frame from usb:0")
    # The kernel's side of the stream the daemon holds open: the format and frame interval it negotiated.
    fmt = rig.vm.ssh("v4l2-ctl -d /dev/video0 --get-fmt-video --get-parm").stdout
    assert "Width/Height      : 640/360" in fmt, fmt
    assert "Frames per second: 10.000" in fmt, fmt
    assert "'YUYV'" in fmt, fmt
    log = rig.vm.ssh(f"journalctl -u {UNIT} --no-pager -o cat").stdout
    mode = [line for line in log.splitlines() if "camera usb:0: asked for 640x360@10.0 YUYV" in line]
    assert mode and mode[0].endswith("the camera gives 640x360@10.0 (YUYV)"), log[:3000]
    code, body = rig.healthz()
    assert code == 200 and body["cameras"]["door"]["status"] == "ok", body
    wait_until(lambda: rig.availability() == "online", 120, 1, what="the camera's availability online at the broker")


def test_unplugged_camera_shows_offline_in_stats_healthz_and_home_assistant(rig: Rig) -> None:
    before = rig.service()
    rig.vm.ssh("echo vivid.0 > /sys/bus/platform/drivers/vivid/unbind")
    wait_until(lambda: rig.stats().get("status") == "down", 300, 3, what="the stats to show the camera down")
    code, body = rig.healthz()
    assert code == 503 and body["cameras"]["door"]["status"] != "ok", body
    assert any("cameras down" in r for r in body["reasons"]), body
    wait_until(lambda: rig.availability() == "offline", 120, 1, what="the camera's availability offline")
    # The daemon let go of the dead device: nothing holds the driver any more, so it can be unloaded.
    wait_until(lambda: rig.vm.ssh("modprobe -r vivid", check=False).returncode == 0, 120, 3,
               what="modprobe -r vivid (the daemon must release the unplugged camera)")
    assert rig.service() == before  # the same process, still active: an unplugged camera is not a crash


def test_replugged_camera_reconnects_without_a_restart(rig: Rig) -> None:
    before = rig.service()
    reconnects = rig.stats().get("reconnects", 0)
    rig.vm.ssh("modprobe vivid && udevadm settle && v4l2-ctl -d /dev/video0 -c osd_text_mode=2")
    wait_until(lambda: rig.stats().get("status") == "ok" and rig.stats().get("reconnects", 0) > reconnects,
               300, 3, what="the camera to come back in the stats")
    wait_until(lambda: rig.healthz()[0] == 200, 120, 3, what="/healthz to answer 200 again")
    wait_until(lambda: rig.availability() == "online", 120, 1, what="the camera's availability online again")
    after = rig.service()
    assert after["MainPID"] == before["MainPID"] and after["NRestarts"] == "0", (before, after)


def test_a_missing_camera_and_an_impossible_mode_each_get_one_line(rig: Rig) -> None:
    r = rig.vm.ssh(f"cd /tmp && {PY} -m edgekit.cli.main detect usb:7", check=False, timeout=300)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "usb:7" in lines[0] and "/dev/video7 does not exist" in lines[0], r.stderr
    # A mode the camera cannot give: the driver picks the nearest, and the log says so in one line with the fix.
    rig.vm.ssh(f"systemctl stop {UNIT}")  # one streamer per V4L2 capture node: the daemon gives usb:0 back first
    code = ("import logging; logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')\n"
            "from edgekit.sources.live import open_usb\n"
            "s = open_usb(0, width=1000, height=700, fps=10); f = s.read(); s.close()\n"
            "print('frame', f.image.shape[1], f.image.shape[0])")
    r = rig.vm.ssh(f"cd /tmp && {PY} -c {shlex.quote(code)}", check=False, timeout=300)
    assert r.returncode == 0, r.stderr
    warn = [line for line in r.stderr.splitlines() if line.startswith("WARNING") and "not the 1000x700" in line]
    assert len(warn) == 1 and "v4l2-ctl --list-formats-ext" in warn[0], r.stderr
    w, h = r.stdout.split()[-2:]
    assert f"gives {w}x{h}," in warn[0], (warn, r.stdout)  # the warning names the size the frames really have
