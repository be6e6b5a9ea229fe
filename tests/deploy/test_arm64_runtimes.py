"""Raspberry Pi 5 parity: the aarch64 wheels of OpenVINO and ncnn give ONNX Runtime's detections on the arm64 root.

The shipped detector is exported on this host at 160 through the project's own legs (``--to onnx``, ``openvino``
and ``ncnn`` FP32, ``ncnn`` FP16, each gated), as a Pi would be sent it; in the Debian 12 arm64 root under
qemu-user, a venv of PyPI's aarch64 wheels (onnxruntime, openvino, ncnn) opens each with edgekit's backend and runs
one photo, on qemu's Cortex-A76 model (the Pi 5's core) with a Pi 5's CPU sysfs as a stand-in (``fake_sysfs``:
OpenVINO crashes without one). On the host, each
output is decoded and judged against the arm64 ONNX Runtime's (and the x86 one's): every box found again at
IoU >= 0.5 (mean >= 0.99), FP32 scores within 0.01, and mAP50-95 on the photo's hand-drawn boxes within the gate's
1 point. ncnn FP16 computes in FP16 here (the A76 has ARMv8.2 half-precision arithmetic): its
scores are held to 0.05, its boxes and mAP to the same limits.

Correctness only: under qemu-user every float vector op goes through softfloat (~2000x slower than native), so
emulated timing says nothing about a Pi. Heavy: one FP32 inference at 160 takes minutes of CPU there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgekit.export import ExportOptions, evaluate, export, valset
from edgekit.vision.preprocess import letterbox
from edgekit.vision.yolo import postprocess_yolo
from tests.deploy.fake_sysfs import pi5_cpu_sysfs
from tests.deploy.test_arm64 import CACHE, REPO, arm64_root, chroot, compile_natively, step  # noqa: F401
from tests.helpers import DEFAULT_MODEL, SHARED

# A Pi 5's cores, not qemu-user's default "max" CPU: under "max" (SVE, SME and every other extension on) OpenVINO's
# ARM plugin returned garbage (largest output difference 744, no box found), under cortex-a76 it matched to 0.0004.
QEMU_CPU = "cortex-a76"
SIZE = 160  # the smallest size the head resizes to (edgekit.export.resize_head)
PHOTO = "bus.jpg"  # five people found at 160 (the ONNX Runtime reference on the host)
WHEELS = ("numpy>=2,<2.5", "onnxruntime>=1.20", "openvino>=2024.0", "ncnn>=1.0.20261020")
# openvino's aarch64 wheels need glibc 2.35 (Debian 12 / Raspberry Pi OS Bookworm have 2.36)
PLATFORMS = [f"manylinux_2_{v}_aarch64" for v in (17, 24, 27, 28, 31, 34, 35, 36)] + ["manylinux2014_aarch64"]

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(os.geteuid() != 0, reason="chroot and binfmt need root (CI runs as root)"),
]


def wheels() -> Path:
    """The aarch64 CPython 3.11 wheels of the three runtimes and their dependencies, downloaded once."""
    key = hashlib.sha256(repr(WHEELS).encode()).hexdigest()[:12]
    dest = CACHE / f"arm64-runtime-wheels-{key}"
    if not (dest / ".complete").exists():
        flags = [a for p in PLATFORMS for a in ("--platform", p)]
        dl = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", *flags,
                             "--python-version", "3.11", "--dest", str(dest), *WHEELS], capture_output=True, text=True)
        assert dl.returncode == 0, dl.stderr[-2000:]
        (dest / ".complete").touch()
    return dest


def runtime_venv(root: Path) -> str:
    """A venv of the wheels inside the root (installed offline under qemu once, then kept per wheel set)."""
    src = wheels()
    venv = f"/opt/edgekit-ci-venvs/runtimes-{src.name.rsplit('-', 1)[1]}"
    if not (root / venv.lstrip("/") / ".complete").exists():
        shutil.rmtree(root / venv.lstrip("/"), ignore_errors=True)
        inside = "/opt/edgekit-ci-runtime-wheels"
        shutil.copytree(src, root / inside.lstrip("/"), dirs_exist_ok=True)
        with step("runtime venv: wheels installed under qemu (cache miss)"):
            res = chroot(root, f"python3 -m venv {venv} && {venv}/bin/python -m pip install -q --no-compile "
                         f"--no-index --find-links {inside} {' '.join(repr(w) for w in WHEELS)}", timeout=2400)
        assert res.returncode == 0, res.stderr[-2000:]
        compile_natively(root, venv)
        (root / venv.lstrip("/") / ".complete").touch()
    return venv


LEGS = (("onnx", "fp32"), ("openvino", "fp32"), ("ncnn", "fp32"), ("ncnn", "fp16"))


def exported(out: Path) -> dict[str, Path]:
    """The models each runtime runs, through ``edgekit export`` (each leg gated on the shipped set)."""
    models = {}
    for target, precision in LEGS:
        rep = export(DEFAULT_MODEL, ExportOptions(target=target, precision=precision, imgsz=SIZE,
                                                  val=SHARED / "data", generated=0, out=out))
        assert rep.passed is not False and rep.artifact, rep.model_dump_json()[:2000]
        models[f"{target}-{precision}"] = Path(rep.artifact)
    return models


def detections(raw: np.ndarray, sample: valset.Sample) -> evaluate.Run:
    _, info = letterbox(sample.image, (SIZE, SIZE))
    dets = postprocess_yolo(raw, info, conf=evaluate.EVAL_CONF, iou=evaluate.NMS_IOU, max_det=300, agnostic=True)
    return evaluate.Run(raw=[raw], dets=[dets])


def test_openvino_and_ncnn_match_onnxruntime_on_arm64(arm64_root: Path, tmp_path: Path) -> None:  # noqa: F811
    with step("export fp32 onnx/openvino/ncnn at 160 (host)"):
        models = exported(tmp_path / "models")
    venv = runtime_venv(arm64_root)
    sample = next(s for s in valset.load_folder(SHARED / "data") if s.name == PHOTO)
    x = letterbox(sample.image, (SIZE, SIZE))[0]
    inside = f"/opt/edgekit-ci-runtimes-{os.getpid()}"
    work = arm64_root / inside.lstrip("/")
    try:
        (work / "out").mkdir(parents=True)
        shutil.copytree(REPO / "edgekit", work / "edgekit", ignore=shutil.ignore_patterns("__pycache__"))
        compile_natively(arm64_root, inside)
        shutil.copy2(Path(__file__).with_name("arm64_infer.py"), work)
        np.save(work / "x.npy", x)
        for m in models.values():
            for f in (m, m.with_suffix(".bin")):
                if f.is_file():
                    shutil.copy2(f, work)
        names = " ".join(f"{inside}/{m.name}" for m in models.values())
        with step("infer onnxruntime/openvino/ncnn at 160 (arm64, qemu)"), pi5_cpu_sysfs(arm64_root):
            res = chroot(arm64_root, f"cd {inside} && PYTHONPATH={inside} {venv}/bin/python arm64_infer.py "
                         f"x.npy out {names}", {"QEMU_CPU": QEMU_CPU}, timeout=3000)
        assert res.returncode == 0, res.stderr[-3000:]
        arm = {t: np.load(work / "out" / f"{m.name}.npy") for t, m in models.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name in ("openvino[CPU,f32]", "ncnn[CPU,fp32]", "ncnn[CPU,fp16]"):
        assert name in res.stdout, res.stdout

    host_ort = evaluate.run_model(models["onnx-fp32"], [sample])
    ref = detections(arm["onnx-fp32"], sample)
    assert len(ref.dets[0][ref.dets[0].scores >= 0.25]) >= 3, "the reference found too few people to compare"
    labels = ["Normal", "Fall"]
    ref_map = evaluate.coco_map([sample], ref.dets, labels)["map50_95"]
    runs = {"x86 onnxruntime": host_ort, **{k: detections(v, sample) for k, v in arm.items() if k != "onnx-fp32"}}
    for name, run in runs.items():
        p = evaluate.parity(ref, run, len(labels))
        print(name, p)
        assert p["box_recall"] == 1.0 and p["export_boxes"] == p["ref_boxes"], (name, p)
        assert p["mean_iou"] >= 0.99 and p["max_score_diff"] <= (0.05 if "fp16" in name else 0.01), (name, p)
        drop = ref_map - evaluate.coco_map([sample], run.dets, labels)["map50_95"]
        assert abs(drop) <= 1.0, (name, drop)
