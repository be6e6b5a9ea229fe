"""`edgekit tune --profile rpi5` on the Raspberry Pi 5's OS: the arm64 root under qemu-user, as `QEMU_CPU=cortex-a76`
with a Pi 5's CPU sysfs (``fake_sysfs``), edgekit installed from its bundle (test_arm64's plain venv) with the
aarch64 wheels of OpenVINO and ncnn beside it (test_arm64_runtimes' venv, layered in by a ``.pth``) and the gate's
evaluator (faster-coco-eval, of the ``export`` extra).

The candidates are exported on this host by the same tune command (the converters, pnnx and NNCF, are not on the
board, and under emulation they would take an hour), into a cache folder whose absolute path is the same on the host
and in the root, so tune there finds every export in its cache. Each was gated on x86-64: tune on arm64 judges it
again with the board's runtimes (``edgekit.bench.tune.judge_here``), so the mAP50-95 in its ``--json`` is what
OpenVINO and ncnn computed on the arm64 CPU, against ONNX Runtime FP32 computed there on the same images. Asserted:
the OpenVINO and ncnn candidates were measured in the camera pipeline (not skipped), judged on aarch64, each within
the gate's tolerance of ONNX Runtime FP32 (1 point of mAP50-95); any row that was not measured says why in one line.

Everything is as small as tune allows: input 160 (``--imgsz``), two labelled photos (``--val``), one round of two
timed frames after one warm-up frame. **Correctness only**: under qemu-user every float vector op goes through
softfloat (about 2000x slower than native; one FP32 inference at 160 takes a minute or two of CPU), so the FPS and
× FP32 figures this tune prints say nothing about a Pi and are not asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.fake_sysfs import pi5_cpu_sysfs
from tests.deploy.test_arm64 import (  # noqa: F401
    CACHE,
    REPO,
    arm64_root,
    board_env,
    chroot,
    install,
    step,
    work,
)
from tests.deploy.test_arm64_runtimes import PLATFORMS, QEMU_CPU, runtime_venv
from tests.helpers import SHARED

SIZE = 160  # the smallest size the head resizes to
PHOTOS = ("bus.jpg", "zidane.jpg")  # 6 people: FP32 legs are judged on both, INT8 on bus.jpg (zidane calibrates)
MAX_DROP = 1.0  # tune's default --max-map-drop, the gate's tolerance
TUNE = ("tune", "--profile", "rpi5", "--runtime", "openvino", "--runtime", "ncnn", "--imgsz", str(SIZE),
        "--frames", "2", "--warmup", "1", "--rounds", "1", "--json")
WANTED = {("openvino", "fp32"), ("openvino", "int8"), ("ncnn", "fp32")}  # rpi5's quick candidates of the two
EVALUATOR = "faster-coco-eval>=1.6"  # the gate's mAP (edgekit[export]); numpy is its only dependency
PY = "lib/python3.11/site-packages"  # the root's Python (Debian 12, as Raspberry Pi OS Bookworm)

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.timeout(7200),
    pytest.mark.skipif(os.geteuid() != 0, reason="chroot and binfmt need root (CI runs as root)"),
]


def val_folder(dest: Path) -> Path:
    """The two photos with their hand-drawn YOLO labels."""
    for sub in ("images", "labels"):
        (dest / sub).mkdir(parents=True)
    for name in PHOTOS:
        shutil.copy2(SHARED / "data" / "images" / name, dest / "images" / name)
        shutil.copy2(SHARED / "data" / "labels" / f"{Path(name).stem}.txt", dest / "labels")
    return dest


def evaluator_wheel() -> Path:
    """The aarch64 CPython 3.11 wheel of the gate's evaluator, downloaded once into the cache."""
    dest = CACHE / "arm64-tune-wheels"
    found = sorted(dest.glob("faster_coco_eval-*-cp311-*aarch64*.whl"))
    if not found:
        flags = [a for p in PLATFORMS for a in ("--platform", p)]
        dl = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", *flags,
                             "--python-version", "3.11", "--dest", str(dest), EVALUATOR], capture_output=True, text=True)
        assert dl.returncode == 0, dl.stderr[-2000:]
        found = sorted(dest.glob("faster_coco_eval-*-cp311-*aarch64*.whl"))
    assert found, f"no faster-coco-eval aarch64 wheel in {dest}"
    return found[-1]


def rows_by_trial(data: dict[str, object]) -> dict[tuple[str, str], dict[str, object]]:
    rows = data["rows"]
    assert isinstance(rows, list)
    return {(r["runtime"], r["precision"]): r for r in rows}


def test_rpi5_tune_on_arm64_gives_onnxruntimes_accuracy(arm64_root: Path, work: tuple[Path, str],  # noqa: F811
                                                        tmp_path: Path) -> None:
    # The same absolute path on both sides: the export cache's keys and reports name their folders by it.
    shared = tmp_path / "tune"
    (shared / "models").mkdir(parents=True)
    for f in ("yolov8s-fall.yaml", "yolov8s-fall.onnx"):
        shutil.copy2(REPO / "models" / f, shared / "models" / f)
    val_folder(shared / "val")
    args = [*TUNE, "--model", str(shared / "models/yolov8s-fall.yaml"), "--val", str(shared / "val")]
    with step("tune on the host (exports at 160, gated)"):
        env = {**os.environ, "PYTHONPATH": str(REPO), "EDGEKIT_CACHE": str(shared / "cache"),
               "EDGEKIT_PLANS": str(tmp_path / "plans-host")}
        res = subprocess.run([sys.executable, "-m", "edgekit.cli.main", *args], capture_output=True, text=True,
                             cwd=REPO, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    x86 = rows_by_trial(json.loads(res.stdout))
    for key in WANTED:  # what the host could not export cannot be handed over
        assert x86[key]["status"] == "measured", (key, x86[key]["why"])

    host, inside = work
    install(arm64_root, f"{inside}/plain", False)
    plain = os.readlink(host / "plain" / "venv")
    runtimes = runtime_venv(arm64_root)
    mirror = arm64_root / str(shared).lstrip("/")
    made = next(p for p in [*reversed(mirror.parents), mirror] if not p.exists())  # removed after, with all below
    try:
        shutil.copytree(shared, mirror)
        venv = f"{shared}/venv"
        wheel = evaluator_wheel()
        shutil.copy2(wheel, mirror / wheel.name)
        with step("tune venv (plain + runtimes + evaluator)"):
            res = chroot(arm64_root, f"python3 -m venv --without-pip {venv}")
            assert res.returncode == 0, res.stderr[-2000:]
            # After the venv's own site-packages: edgekit and its lock first, then OpenVINO and ncnn.
            (mirror / "venv" / PY / "layers.pth").write_text(
                f"import site; site.addsitedir('{plain}/{PY}'); site.addsitedir('{runtimes}/{PY}')\n")
            # The plain venv's pip (seen through the layers) installs into this venv.
            res = chroot(arm64_root, f"{venv}/bin/python -m pip install -q --no-compile --no-index --no-deps "
                         f"{shared}/{wheel.name}")
            assert res.returncode == 0, res.stderr[-2000:]
        env = {**board_env(inside), "EDGEKIT_CACHE": f"{shared}/cache", "EDGEKIT_PLANS": f"{shared}/plans",
               "QEMU_CPU": QEMU_CPU}
        with step("tune on arm64 (qemu)"), pi5_cpu_sysfs(arm64_root):
            res = chroot(arm64_root, f"cd {shared} && {venv}/bin/python -m edgekit.cli.main {' '.join(args)}", env,
                         timeout=6600)
    finally:
        shutil.rmtree(made, ignore_errors=True)
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(res.stdout)
    arm = rows_by_trial(data)
    print("\narm64 tune:", json.dumps({" ".join(k): {f: r[f] for f in ("status", "why", "map50_95", "map_drop",
                                                                        "judged_on", "fps")}
                                        for k, r in arm.items()}, indent=1))
    print("x86 tune:", json.dumps({" ".join(k): [r["map50_95"], r["map_drop"]] for k, r in x86.items()}))

    base = arm[("onnxruntime", "fp32")]
    assert base["status"] == "measured" and base["judged_on"] == "aarch64", base
    assert isinstance(base["map50_95"], float) and base["map50_95"] > 0, base
    for r in arm.values():  # anything not measured says why, in one line
        assert r["status"] == "measured" or (r["why"] and "\n" not in r["why"]), r
    for key in WANTED:
        r = arm[key]
        assert r["status"] == "measured", (key, r["why"])  # not skipped, not dropped by the gate
        assert r["judged_on"] == "aarch64", r  # its mAP is the arm64 runtime's, not the host's verdict
        assert r["map_drop"] is not None and r["map_drop"] <= MAX_DROP, r
        if key[1] == "fp32":  # judged on the same two photos as the baseline
            assert abs(r["map50_95"] - base["map50_95"]) <= MAX_DROP, (r, base)
