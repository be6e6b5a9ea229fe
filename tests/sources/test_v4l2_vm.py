"""The kernel camera on a booted OS (issue "boards in a box"): a Debian 12 VM with systemd as PID 1 and the
kernel's ``vivid`` V4L2 driver gives real ``/dev/video*`` capture devices. This test proves the harness: the VM
boots to systemd, udev made the camera's device node, and a real V4L2 client streams frames from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vm import VM, vm_image

IMAGE = vm_image()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(IMAGE is None, reason="no VM image: scripts/install_vm.sh builds it")]


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VM]:
    assert IMAGE is not None
    with VM(IMAGE, tmp_path_factory.mktemp("vm")) as v:
        yield v


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
