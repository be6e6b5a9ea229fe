"""``scripts/setup_rpi.sh`` end to end on a fresh Debian 12 VM (tests/vm.py): apt, a venv from PyPI, Mosquitto, the
systemd unit, as a user on a Debian that is not Raspberry Pi OS runs it (no picamera2 in its apt sources: the
script says so in one line and goes on). The guest has no internet: a forward proxy on the host's loopback
(``proxy.py`` from PyPI), reached at 10.0.2.2, carries its apt and pip traffic, set up the way a board behind a
proxy is (``/etc/apt/apt.conf.d``, ``/etc/pip.conf``). Heavy: pip installs under TCG take many minutes.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_port
from tests.deploy.conftest import REPO
from tests.deploy.test_arm64 import int8_model
from tests.helpers import wait_until
from tests.vm import HOST_FROM_GUEST, VM, vm_image

IMAGE = vm_image()
pytestmark = [pytest.mark.heavy, pytest.mark.timeout(5400),
              pytest.mark.skipif(IMAGE is None, reason="no VM image: scripts/install_vm.sh builds it")]

HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")  # the host's trust store: HTTPS through the proxy checks it
CHECKOUT = "/home/edgekit/edgekit"
# The detector the rpi5 profile runs (INT8, decode tail in float) at 256: FP32 at 640 takes minutes an inference
# under TCG. A synthetic camera (the VM's vivid camera belongs to the camera tests), the broker the script installs.
CONFIG = """\
device: vmpi
profile: desktop
model: models/yolov8s-fall-256-int8.onnx
cameras:
  porch: {source: "synthetic:1:60", realtime: true}
rules:
  - {name: person_seen, labels: [Normal, Fall], min_frames: 1, cooldown_s: 1}
mqtt: {host: 127.0.0.1, port: 1883}
metrics: {enabled: true, port: 9108}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """proxy.py (HTTP forward and CONNECT) on a free loopback port of the host."""
    port = free_port()
    log = tmp_path_factory.mktemp("proxy") / "proxy.log"
    proc = subprocess.Popen([sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", str(port),
                             "--num-workers", "2", "--num-acceptors", "1", "--log-file", str(log)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, up=True)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def checkout_tar(tmp: Path) -> Path:
    """The working tree's tracked files (as a user's clone has them), the config and its model."""
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout
    out = tmp / "checkout.tar.gz"
    with tarfile.open(out, "w:gz", compresslevel=1) as t:
        for name in files.decode().split("\0"):
            if name and (REPO / name).is_file():
                t.add(REPO / name, arcname=name)
        t.add(int8_model(), arcname="models/yolov8s-fall-256-int8.onnx")
        data = CONFIG.encode()
        info = tarfile.TarInfo("daemon.yaml")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return out


def use_proxy(vm: VM, port: int) -> None:
    """Point the guest's apt and pip at the host's proxy, trusting what the host trusts."""
    url = f"http://{HOST_FROM_GUEST}:{port}"
    vm.copy_in(HOST_CA, "/usr/local/share/edgekit-host-ca.crt")
    vm.ssh(f"printf 'Acquire::http::Proxy \"{url}\";\\nAcquire::https::Proxy \"{url}\";\\n' "
           "> /etc/apt/apt.conf.d/90proxy && "
           f"printf '[global]\\nproxy = {url}\\ncert = /usr/local/share/edgekit-host-ca.crt\\n' > /etc/pip.conf")


def test_setup_rpi_runs_end_to_end_on_a_fresh_debian(proxy: int, tmp_path: Path) -> None:
    assert IMAGE is not None and shutil.which("git")
    times: dict[str, float] = {}
    t0 = time.monotonic()
    with VM(IMAGE, tmp_path / "vm", memory_mb=2048) as vm:
        times["boot"] = time.monotonic() - t0
        use_proxy(vm, proxy)
        t0 = time.monotonic()
        vm.copy_in(checkout_tar(tmp_path), "/tmp/checkout.tar.gz")
        vm.ssh(f"mkdir -p {CHECKOUT} && tar -xzf /tmp/checkout.tar.gz -C {CHECKOUT}", user="edgekit")
        times["checkout copied"] = time.monotonic() - t0
        t0 = time.monotonic()
        res = vm.ssh(f"cd {CHECKOUT} && sudo -E bash scripts/setup_rpi.sh {CHECKOUT}/daemon.yaml </dev/null",
                     user="edgekit", check=False, timeout=4800)
        times["setup_rpi.sh"] = time.monotonic() - t0
        journal = vm.ssh("journalctl -u edgekit --no-pager -n 30", check=False).stdout
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:] + journal
        notes = [ln for ln in res.stderr.splitlines() if "picamera2" in ln]
        assert len(notes) == 1 and notes[0].startswith("note: python3-picamera2 is not in"), res.stderr[-2000:]
        t0 = time.monotonic()
        wait_until(lambda: vm.ssh("systemctl is-active edgekit", check=False).stdout.strip() == "active", 900, 5,
                   what="the unit setup_rpi.sh installed to be active")
        health = "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:9108/healthz').status)\""
        wait_until(lambda: vm.ssh(health, check=False).stdout.strip() == "200", 900, 5,
                   what="the daemon's /healthz to answer 200")
        times["service active and healthy"] = time.monotonic() - t0
        unit = vm.ssh("systemctl show edgekit -p User -p UnitFileState").stdout
        assert "User=edgekit" in unit and "UnitFileState=enabled" in unit, unit
    print("[vm-setup-rpi] " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()),
          "| loadavg", Path("/proc/loadavg").read_text().strip())
