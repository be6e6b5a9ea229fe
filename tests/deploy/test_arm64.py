"""The bundle on arm64: a Debian 12 arm64 root (Raspberry Pi OS Bookworm's base) run under qemu-user.

Plain venv (PyPI aarch64 wheels from the bundle's lock): ``edgekit doctor`` with a Raspberry Pi 5 device-tree
model (recognised as rpi5), ``edgekit detect`` on a shared photo (boxes equal to this x86 host's within 1 px and
0.01), ``edgekit bench --runs 3`` and ``edgekit run`` on a synthetic camera whose events reach a Mosquitto on the
host. Venv over system packages (Debian's python3-numpy 1.24 and python3-opencv 4.6, the Raspberry Pi OS/JetPack
situation): the bundle's lock (numpy 1.x, no OpenCV wheel) keeps the system's cv2 importable, where numpy 2 breaks
it. The detector is what the rpi5 profile runs, INT8 (decode tail in float), at a small input (256): under
qemu-user float32 convolutions crawl (one 96x96 FP32 inference took 46 s of CPU here, ~2000x native, as every
vector float op goes through softfloat) while integer dot products stay fast (1 s of CPU at 128).
"""

from __future__ import annotations

import contextlib
import fcntl
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

import onnx
import pytest

from tests.conftest import Broker, Consumer
from tests.deploy.resize_onnx import resize_yolov8
from tests.helpers import wait_until

REPO = Path(__file__).resolve().parents[2]
SIZE = 256
MODEL = f"models/yolov8s-fall-{SIZE}-int8.onnx"  # where the config names it, relative to the release
# Seconds for a synthetic walker to cross: under qemu a frame takes 5-10 s, and ByteTrack confirms a new track only
# when its box moved less than ~70 % of its width by the next processed frame (edgekit.tracking.tracker): at 240 s
# a walker moves ~7-11 px/s, so ~100 px between frames for a ~200 px wide person.
PERIOD = 240
PHOTO = next((p for p in (Path("/work/shared/data/images/bus.jpg"), REPO / "edgekit/assets/person_0.jpg")
              if p.is_file()), REPO / "edgekit/assets/person_0.jpg")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Where scripts/install_arm64.sh keeps the root; the board wheels and the numpy 2 wheel are kept beside it, so the
# lock (and the venv cached in the root per lock hash) stays the same as long as the root does.
CACHE = Path(os.environ.get("EDGEKIT_ARM64_CACHE", "/var/cache/edgekit-ci"))
TIMES: dict[str, float] = {}  # step -> seconds, printed at the end of the module (run with -s to see them)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(3000),
    pytest.mark.skipif(os.geteuid() != 0, reason="chroot and binfmt need root (CI runs as root)"),
]

CONFIG = f"""\
device: arm64-board
profile: rpi5
model: {MODEL}
cameras:
  yard:
    source: synthetic:1:{PERIOD}
    realtime: true
rules:
  - {{name: person, labels: [Normal, Fall], min_frames: 1, cooldown_s: 1}}
mqtt:
  host: 127.0.0.1
  port: "{{MQTT_PORT}}"
metrics: {{enabled: false}}
"""


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    t0 = time.monotonic()
    try:
        yield
    finally:
        TIMES[name] = round(time.monotonic() - t0, 1)


def mounted(path: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(path)]).returncode == 0


@pytest.fixture(scope="module")
def arm64_root() -> Iterator[Path]:
    """The cached root, held by this run alone (a lock file: two runs on one machine share the cache), with /proc
    mounted inside for the module and unmounted in every case."""
    CACHE.mkdir(parents=True, exist_ok=True)
    t_all = time.monotonic()
    with open(CACHE / "arm64.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with step("root (install_arm64.sh)"):
            res = subprocess.run(["bash", str(REPO / "scripts/install_arm64.sh")], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-2000:]
        root = Path(res.stdout.strip().splitlines()[-1])
        # What a killed run left behind (we hold the lock, so nobody else is using it): a mount, its work folder.
        for sub in ("proc", "sys"):
            while mounted(root / sub):
                subprocess.run(["umount", "-l", str(root / sub)], check=True)
        for stale in (root / "opt").glob("edgekit-ci-[0-9]*"):
            shutil.rmtree(stale, ignore_errors=True)
        # /proc for psutil and onnxruntime; never /sys (onnxruntime segfaults on the host's /sys under qemu).
        subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
        try:
            yield root
        finally:
            subprocess.run(["umount", "-l", str(root / "proc")], check=False)
            TIMES["whole module"] = round(time.monotonic() - t_all, 1)
            print("\narm64 times (s):", json.dumps(TIMES), "loadavg:", Path("/proc/loadavg").read_text().strip())
        assert not mounted(root / "proc")


def int8_model() -> Path:
    """The shipped detector resized to SIZE and quantized to INT8 QDQ with the project's own quantizer (decode tail
    left in float, calibrated on the demo frames in edgekit/assets), kept in the cache per source and recipe."""
    from edgekit.export.calib import calibration_tensors
    from edgekit.export.quantize import decode_tail_nodes, preprocess, quantize_onnx

    src = REPO / "models/yolov8s-fall.onnx"
    key = hashlib.sha256()
    for f in (src, REPO / "edgekit/export/quantize.py", Path(__file__).with_name("resize_onnx.py")):
        key.update(f.read_bytes())
    out = CACHE / "arm64-models" / f"yolov8s-fall-{SIZE}-int8-{key.hexdigest()[:12]}.onnx"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.stem}-{os.getpid()}"
        tmp.mkdir()
        try:
            resize_yolov8(src, tmp / "fp32.onnx", SIZE)
            pre = preprocess(tmp / "fp32.onnx", tmp / "pre.onnx")
            calib = calibration_tensors(REPO / "edgekit/assets", SIZE, limit=8)
            name = onnx.load(str(pre), load_external_data=False).graph.input[0].name
            quantize_onnx(pre, tmp / "int8.onnx", name, calib, exclude=decode_tail_nodes(pre))
            for stale in out.parent.glob(f"yolov8s-fall-{SIZE}-int8-*.onnx"):  # another source's or recipe's
                stale.unlink()
            (tmp / "int8.onnx").replace(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


@pytest.fixture(scope="module")
def work(arm64_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """Both bundles unpacked inside the root: (host path of the work folder, its path inside the root)."""
    d = tmp_path_factory.mktemp("arm64")
    (d / "models").mkdir()
    with step("model: resize + INT8"):
        shutil.copy2(int8_model(), d / MODEL)
    (d / "cam.yaml").write_text(CONFIG)
    inside = f"/opt/edgekit-ci-{os.getpid()}"
    host = arm64_root / inside.lstrip("/")
    # The board wheels are resolved once into this cache (beside the root) instead of ~/.cache/edgekit.
    env = {**os.environ, "PYTHONPATH": str(REPO), "EDGEKIT_CACHE": str(CACHE / "arm64-bundle-cache")}
    wheel: list[str] = []
    for name, flag in (("plain", "--no-system-site"), ("system", "--system-site")):
        with step(f"bundle {name}"):
            res = subprocess.run([sys.executable, "-m", "edgekit.cli.main", "bundle", "-c", str(d / "cam.yaml"),
                                  "-p", "rpi5", flag, *wheel, "-o", str(d / f"{name}.tar.gz")], capture_output=True,
                                 text=True, cwd=REPO, env=env)
            assert res.returncode == 0, res.stderr
            (host / name).mkdir(parents=True)
            with tarfile.open(d / f"{name}.tar.gz") as t:
                t.extractall(host / name, filter="data")
        wheel = ["--wheel", str(next((host / "plain" / "wheels").glob("edgekit-*.whl")))]  # built once
    shutil.copy2(PHOTO, host / "photo.jpg")
    (host / "device-tree-model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    try:
        yield host, inside
    finally:
        shutil.rmtree(host, ignore_errors=True)


def chroot_argv(root: Path, cmd: str, env: dict[str, str] | None = None) -> list[str]:
    envs = [f"{k}={v}" for k, v in {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", **(env or {})}.items()]
    return ["chroot", str(root), "/usr/bin/env", "-i", *envs, "/bin/sh", "-c", cmd]


def chroot(root: Path, cmd: str, env: dict[str, str] | None = None,
           timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``cmd`` in the root; on timeout its whole process group is killed (the shell's children included)."""
    argv = chroot_argv(root, cmd, env)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def compile_natively(root: Path, folder: str) -> None:
    """Byte-compile ``folder`` (a path inside the root) with this host's Python instead of leaving it to the first
    import under qemu, which compiles the daemon's imports ~50x slower. Same CPython minor (3.11, the root's
    and Raspberry Pi OS Bookworm's) means the same .pyc format; -s/-p record the paths as the root sees them."""
    if sys.version_info[:2] != (3, 11):
        return  # another .pyc format: the root's Python compiles on first import (slower, same result)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", "-s", str(root), "-p", "/",
                    str(root / folder.lstrip("/"))], capture_output=True, check=False)


def install(root: Path, rel: str, system_site: bool) -> None:
    """The release's venv: its lock installed offline into a venv kept in the cached root per lock hash (pip under
    qemu takes minutes; a later run with the same lock reuses it), then this bundle's edgekit wheel into it."""
    kind = "system" if system_site else "plain"
    lock = (root / rel.lstrip("/") / "requirements.lock").read_bytes()
    venv = f"/opt/edgekit-ci-venvs/{kind}-{hashlib.sha256(lock).hexdigest()[:12]}"
    # A venv over the system packages sees Debian's pip there: no ensurepip (a minute or more under qemu).
    flags = "--system-site-packages --without-pip" if system_site else ""
    pip = f"{venv}/bin/python -m pip"
    if not (root / venv.lstrip("/") / ".complete").exists():
        for old in (root / "opt/edgekit-ci-venvs").glob(f"{kind}-*"):  # an older lock's venv: 0.6 GB each
            shutil.rmtree(old, ignore_errors=True)
        with step(f"venv {kind}: lock installed under qemu (cache miss)"):
            res = chroot(root, f"python3 -m venv {flags} {venv} && cd {rel} && {pip} install -q "
                         "--no-compile --no-index --find-links wheels --require-hashes -r requirements.lock",
                         timeout=2400)
            assert res.returncode == 0, res.stderr[-2000:]
            (root / venv.lstrip("/") / ".complete").touch()
    with step(f"venv {kind}: edgekit wheel"):
        res = chroot(root, f"cd {rel} && {pip} install -q --no-compile --no-index --no-deps "
                     f"--force-reinstall wheels/edgekit-*.whl && ln -sfn {venv} venv")
        assert res.returncode == 0, res.stderr[-2000:]
        compile_natively(root, venv)  # the new edgekit; the lock's packages once (then they are up to date)


def board_env(inside: str) -> dict[str, str]:
    """The Pi 5 device-tree model (the root's /proc is the host's) and cache/state inside the work folder."""
    return {"EDGEKIT_DEVICE_TREE_MODEL": f"{inside}/device-tree-model", "EDGEKIT_CACHE": f"{inside}/cache",
            "EDGEKIT_STATE": f"{inside}/state"}


def numpy2_wheel() -> Path:
    """An aarch64 CPython 3.11 wheel of numpy 2 (what an unpinned install pulls), downloaded once into the cache."""
    dest = CACHE / "arm64-numpy2"
    found = sorted(dest.glob("numpy-2.*-cp311-*aarch64*.whl"))
    if not found:
        dl = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                             "--platform", "manylinux_2_28_aarch64", "--platform", "manylinux2014_aarch64",
                             "--python-version", "3.11", "--dest", str(dest), "numpy>=2,<2.3"],
                            capture_output=True, text=True)
        assert dl.returncode == 0, dl.stderr
        found = sorted(dest.glob("numpy-2.*-cp311-*aarch64*.whl"))
    assert found, f"no numpy 2 aarch64 wheel in {dest}"
    return found[-1]


def boxes(detect_json: str) -> list[tuple[str, float, list[float]]]:
    frames = json.loads(detect_json)["frames"]
    return [(d["label"], d["score"], d["box"]) for d in frames[0]["detections"]]


def test_plain_venv_doctor_detect_bench_run(arm64_root: Path, work: tuple[Path, str], tmp_path: Path) -> None:
    host, inside = work
    rel = f"{inside}/plain"
    install(arm64_root, rel, False)
    env = board_env(inside)
    with step("doctor"):
        res = chroot(arm64_root, f"cd {rel} && venv/bin/edgekit doctor --json", env)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(res.stdout)
    assert doc["board"] == "raspberry-pi" and doc["recommended_profile"] == "rpi5", doc
    assert doc["runtimes"]["onnxruntime"] and doc["runtimes"]["paho.mqtt"]

    model = MODEL
    with step("detect"):
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

    with step("bench --runs 3"):
        res = chroot(arm64_root, f"cd {rel} && venv/bin/edgekit bench --model {model} --profile rpi5 --runs 3 "
                     f"--warmup 1 --pipeline-frames 0 --no-predict --image {inside}/photo.jpg --json", env)
    assert res.returncode == 0, res.stderr[-2000:]
    bench = json.loads(res.stdout)
    assert bench["runs"] == 3 and bench["input"] == [SIZE, SIZE], bench
    assert bench["raw"]["latency_ms"]["p50"] > 0 and bench["detect"]["latency_ms"]["p50"] > 0
    assert bench["host"]["board"] == "raspberry-pi", bench["host"]

    broker = Broker(tmp_path)
    broker.start()
    consumer = Consumer(broker.port, ["edgekit/#"], client_id="arm64-consumer")
    t0 = time.monotonic()
    log = tmp_path / "daemon.log"  # a file, not a pipe: a daemon blocked on a full pipe would stop processing
    with log.open("wb") as out:
        proc = subprocess.Popen(chroot_argv(arm64_root, f"cd {rel} && exec venv/bin/edgekit run --quiet --config "
                                            "config.yaml", {**env, "MQTT_PORT": str(broker.port)}),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with step("run: first event on the host broker"):
            wait_until(lambda: len(consumer.events()) >= 1 or proc.poll() is not None, 600,
                       what=lambda: f"an event from the arm64 daemon: {log.read_text()[-2000:]}")
        if not consumer.events():
            pytest.fail(f"no event from the arm64 daemon (exit {proc.poll()}): {log.read_text()[-2000:]}")
        ev = consumer.events()[0]
        assert ev["rule"] == "person" and ev["source"] == "yard" and ev["device"] == "arm64-board", ev
        assert consumer.payloads("arm64-board/available")[-1] == b"online"
    finally:
        with step("run: stop (SIGTERM)"):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        consumer.close()
        broker.kill()
    assert proc.returncode == 0, log.read_text()[-2000:]
    TIMES["run: whole"] = round(time.monotonic() - t0, 1)


def test_venv_over_system_packages_keeps_debian_opencv(arm64_root: Path, work: tuple[Path, str]) -> None:
    host, inside = work
    rel = f"{inside}/system"
    lock = (host / "system" / "requirements.lock").read_text()
    assert "numpy==1." in lock and "opencv" not in lock
    install(arm64_root, rel, True)
    probe = ("import cv2, numpy, onnxruntime; print(cv2.__file__); print(numpy.__version__); "
             "print(cv2.imdecode(numpy.frombuffer(open('../photo.jpg','rb').read(), numpy.uint8), 1).shape)")
    with step("system: import probe"):
        res = chroot(arm64_root, f'cd {rel} && venv/bin/python -c "{probe}"')
    assert res.returncode == 0, res.stderr[-2000:]
    cv2_file, np_version, shape = res.stdout.split("\n")[:3]
    assert cv2_file.startswith("/usr/lib/python3/dist-packages/") and np_version.startswith("1.") and "3)" in shape
    with step("system: detect"):
        res = chroot(arm64_root, f"cd {rel} && venv/bin/edgekit detect {inside}/photo.jpg --model "
                     f"{MODEL} --profile rpi5 --json", board_env(inside))
    assert res.returncode == 0 and boxes(res.stdout), res.stderr[-2000:]

    # Without the lock's pin: numpy 2 over the same system OpenCV fails to import it. The venv gets no pip of its
    # own (ensurepip under qemu takes a minute): Debian's pip, seen through the system site, installs into it.
    with step("system: numpy 2 breaks the system cv2"):
        wheel = numpy2_wheel()
        shutil.copy2(wheel, host / wheel.name)
        res = chroot(arm64_root, f"cd {inside} && python3 -m venv --system-site-packages --without-pip np2 && "
                     f"np2/bin/python -m pip install -q --no-compile --no-index --no-deps {wheel.name}")
        assert res.returncode == 0, res.stderr[-2000:]
        compile_natively(arm64_root, f"{inside}/np2")
        res = chroot(arm64_root, f"cd {inside} && np2/bin/python -c 'import numpy; print(numpy.__version__); "
                     "import cv2'")
    assert res.stdout.startswith("2."), (res.stdout, res.stderr[-2000:])
    assert res.returncode != 0 and "NumPy" in res.stderr, res.stderr[-2000:]
