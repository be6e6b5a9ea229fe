"""The bundle on arm64: a Debian 12 arm64 root (Raspberry Pi OS Bookworm's base) run under qemu-user.

Plain venv (PyPI aarch64 wheels from the bundle's lock): ``edgekit doctor`` with a Raspberry Pi 5 device-tree
model (recognised as rpi5), ``edgekit detect`` on a shared photo (boxes equal to this x86 host's within 1 px and
0.01), ``edgekit bench --runs 3`` and ``edgekit run`` on a synthetic camera whose events reach a Mosquitto on the
host. Venv over system packages (Debian's python3-numpy 1.24 and python3-opencv 4.6, the Raspberry Pi OS/JetPack
situation): the bundle's lock (numpy 1.x, no OpenCV wheel) keeps the system's cv2 importable, where numpy 2 breaks
it. Emulation is ~200x slower than native, so the detector is the shipped model resized to 160.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Broker, Consumer
from tests.deploy.resize_onnx import resize_yolov8

REPO = Path(__file__).resolve().parents[2]
SIZE = 160
PHOTO = next((p for p in (Path("/work/shared/data/images/bus.jpg"), REPO / "edgekit/assets/person_0.jpg")
              if p.is_file()), REPO / "edgekit/assets/person_0.jpg")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.heavy,
    pytest.mark.timeout(3000),
    pytest.mark.skipif(os.geteuid() != 0, reason="chroot and binfmt need root (CI runs as root)"),
]

CONFIG = f"""\
device: arm64-board
profile: rpi5
model: models/yolov8s-fall-{SIZE}.onnx
cameras:
  yard:
    source: synthetic:1:24
rules:
  - {{name: person, labels: [Normal, Fall], min_frames: 1, cooldown_s: 1}}
mqtt:
  host: 127.0.0.1
  port: "{{MQTT_PORT}}"
metrics: {{enabled: false}}
"""


@pytest.fixture(scope="module")
def arm64_root() -> Iterator[Path]:
    t0 = time.monotonic()
    res = subprocess.run(["bash", str(REPO / "scripts/install_arm64.sh")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    root = Path(res.stdout.strip().splitlines()[-1])
    print(f"\narm64 root ready in {time.monotonic() - t0:.0f} s: {root}")
    # /proc for psutil and onnxruntime; never /sys (onnxruntime segfaults on the host's /sys under qemu).
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)


@pytest.fixture(scope="module")
def work(arm64_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """Both bundles unpacked inside the root: (host path of the work folder, its path inside the root)."""
    d = tmp_path_factory.mktemp("arm64")
    (d / "models").mkdir()
    resize_yolov8(REPO / "models/yolov8s-fall.onnx", d / "models" / f"yolov8s-fall-{SIZE}.onnx", SIZE)
    (d / "cam.yaml").write_text(CONFIG)
    inside = f"/opt/edgekit-ci-{os.getpid()}"
    host = arm64_root / inside.lstrip("/")
    for name, flag in (("plain", "--no-system-site"), ("system", "--system-site")):
        t0 = time.monotonic()
        res = subprocess.run([sys.executable, "-m", "edgekit.cli.main", "bundle", "-c", str(d / "cam.yaml"),
                              "-p", "rpi5", flag, "-o", str(d / f"{name}.tar.gz")], capture_output=True, text=True,
                             cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert res.returncode == 0, res.stderr
        print(f"bundle {name}: {time.monotonic() - t0:.0f} s")
        (host / name).mkdir(parents=True)
        with tarfile.open(d / f"{name}.tar.gz") as t:
            t.extractall(host / name, filter="data")
    shutil.copy2(PHOTO, host / "photo.jpg")
    (host / "device-tree-model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    try:
        yield host, inside
    finally:
        shutil.rmtree(host, ignore_errors=True)


def chroot(root: Path, cmd: str, env: dict[str, str] | None = None, timeout: float = 900,
           popen: bool = False) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    envs = [f"{k}={v}" for k, v in {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", **(env or {})}.items()]
    argv = ["chroot", str(root), "/usr/bin/env", "-i", *envs, "/bin/sh", "-c", cmd]
    if popen:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def install(root: Path, rel: str, system_site: bool) -> float:
    """The release's venv: its lock installed offline into a venv kept in the cached root per lock hash (pip under
    qemu takes minutes; a later run with the same lock reuses it), then this bundle's edgekit wheel into it."""
    t0 = time.monotonic()
    lock = (root / rel.lstrip("/") / "requirements.lock").read_bytes()
    venv = f"/opt/edgekit-ci-venvs/{'system' if system_site else 'plain'}-{hashlib.sha256(lock).hexdigest()[:12]}"
    flags = "--system-site-packages" if system_site else ""
    if not (root / venv.lstrip("/") / ".complete").exists():
        res = chroot(root, f"rm -rf {venv} && python3 -m venv {flags} {venv} && cd {rel} && {venv}/bin/pip install "
                     "-q --no-compile --no-index --find-links wheels --require-hashes -r requirements.lock && "
                     f"touch {venv}/.complete", timeout=2400)
        assert res.returncode == 0, res.stderr[-2000:]
    res = chroot(root, f"cd {rel} && {venv}/bin/pip install -q --no-compile --no-index --no-deps --force-reinstall "
                 f"wheels/edgekit-*.whl && ln -sfn {venv} venv")
    assert res.returncode == 0, res.stderr[-2000:]
    return time.monotonic() - t0


def boxes(detect_json: str) -> list[tuple[str, float, list[float]]]:
    frames = json.loads(detect_json)["frames"]
    return [(d["label"], d["score"], d["box"]) for d in frames[0]["detections"]]


def test_plain_venv_doctor_detect_bench_run(arm64_root: Path, work: tuple[Path, str], tmp_path: Path) -> None:
    host, inside = work
    rel = f"{inside}/plain"
    print(f"install plain venv: {install(arm64_root, rel, False):.0f} s")
    env = {"EDGEKIT_DEVICE_TREE_MODEL": f"{inside}/device-tree-model", "EDGEKIT_CACHE": f"{inside}/cache",
           "EDGEKIT_STATE": f"{inside}/state"}
    t0 = time.monotonic()
    res = chroot(arm64_root, f"cd {rel} && venv/bin/edgekit doctor --json", env)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(res.stdout)
    assert doc["board"] == "raspberry-pi" and doc["recommended_profile"] == "rpi5", doc
    assert doc["runtimes"]["onnxruntime"] and doc["runtimes"]["paho.mqtt"]

    model = f"models/yolov8s-fall-{SIZE}.onnx"
    res = chroot(arm64_root, f"cd {rel} && venv/bin/edgekit detect {inside}/photo.jpg --model {model} "
                 "--profile rpi5 --json", env)
    assert res.returncode == 0, res.stderr[-2000:]
    arm = boxes(res.stdout)
    x86 = subprocess.run([sys.executable, "-m", "edgekit.cli.main", "detect", str(PHOTO), "--model",
                          str(host / "plain" / model), "--profile", "rpi5", "--json"], capture_output=True,
                         text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert x86.returncode == 0, x86.stderr
    ref = boxes(x86.stdout)
    assert arm and len(arm) == len(ref), (arm, ref)
    for (la, sa, ba), (lx, sx, bx) in zip(arm, ref, strict=True):
        assert la == lx and abs(sa - sx) <= 0.01 and max(abs(a - b) for a, b in zip(ba, bx, strict=True)) <= 1.0

    res = chroot(arm64_root, f"cd {rel} && venv/bin/edgekit bench --model {model} --profile rpi5 --runs 3 "
                 f"--warmup 1 --pipeline-frames 0 --image {inside}/photo.jpg --json", env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "3" in res.stdout and "p50" in res.stdout
    print(f"doctor + detect + bench under qemu: {time.monotonic() - t0:.0f} s")

    broker = Broker(tmp_path)
    broker.start()
    consumer = Consumer(broker.port, ["edgekit/#"], client_id="arm64-consumer")
    t0 = time.monotonic()
    proc = chroot(arm64_root, f"cd {rel} && exec venv/bin/edgekit run --quiet --config config.yaml",
                  {**env, "MQTT_PORT": str(broker.port)}, popen=True)
    assert isinstance(proc, subprocess.Popen)
    try:
        got = consumer.wait_for(lambda: len(consumer.events()) >= 1, timeout=600)
        assert got, f"no event from the arm64 daemon: {proc.poll()} {consumer.messages[-3:]}"
        ev = consumer.events()[0]
        assert ev["rule"] == "person" and ev["source"] == "yard"
        assert consumer.payloads("arm64-board/available")[-1] == b"online"
        print(f"edgekit run: first event after {time.monotonic() - t0:.0f} s")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
        consumer.close()
        broker.kill()


def test_venv_over_system_packages_keeps_debian_opencv(arm64_root: Path, work: tuple[Path, str]) -> None:
    host, inside = work
    rel = f"{inside}/system"
    lock = (host / "system" / "requirements.lock").read_text()
    assert "numpy==1." in lock and "opencv" not in lock
    print(f"install venv over system packages: {install(arm64_root, rel, True):.0f} s")
    probe = ("import cv2, numpy, onnxruntime; print(cv2.__file__); print(numpy.__version__); "
             "print(cv2.imdecode(numpy.frombuffer(open('../photo.jpg','rb').read(), numpy.uint8), 1).shape)")
    res = chroot(arm64_root, f'cd {rel} && venv/bin/python -c "{probe}"')
    assert res.returncode == 0, res.stderr[-2000:]
    cv2_file, np_version, shape = res.stdout.split("\n")[:3]
    assert cv2_file.startswith("/usr/lib/python3/dist-packages/") and np_version.startswith("1.") and "3)" in shape
    res = chroot(arm64_root, f"cd {rel} && venv/bin/edgekit detect {inside}/photo.jpg --model "
                 f"models/yolov8s-fall-{SIZE}.onnx --profile rpi5 --json")
    assert res.returncode == 0 and boxes(res.stdout), res.stderr[-2000:]

    # Without the lock's pin: numpy 2 over the same system OpenCV fails to import it.
    wheels = host / "numpy2"
    dl = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                         "--platform", "manylinux_2_28_aarch64", "--platform", "manylinux2014_aarch64",
                         "--python-version", "3.11", "--dest", str(wheels), "numpy>=2,<2.3"],
                        capture_output=True, text=True)
    assert dl.returncode == 0, dl.stderr
    res = chroot(arm64_root, f"cd {inside} && python3 -m venv --system-site-packages np2 && "
                 "np2/bin/pip install -q --no-index --find-links numpy2 numpy && np2/bin/python -c 'import cv2'")
    assert res.returncode != 0 and "NumPy" in res.stderr, res.stderr[-2000:]
