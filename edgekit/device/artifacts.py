"""Where exported models live and what they are called: one naming rule for ``edgekit export`` and the runtime plan.

An export of a source model goes, unless ``--out`` says otherwise, into the user's cache (XDG):
``<cache>/exports/<source sha256[:16]>/<calibration key>/<stem>-<imgsz>_<precision><runtime suffix>``, with its
report next to it. The plan finds it there from any working directory (and under systemd, whose working directory
is ``/``): it knows the source's sha256 from the model card, and the size, precision and runtime from the profile.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgekit.backends.runtimes import get_runtime
from edgekit.paths import cache_dir

UNCALIBRATED = "uncalibrated"
"""Calibration key of exports that need no calibration data (FP32, FP16)."""


def artifact_name(stem: str, imgsz: int, precision: str, runtime: str) -> str:
    """File name of ``stem`` exported at ``imgsz``/``precision`` for ``runtime`` (a ``RUNTIMES`` key).

    Examples:
        >>> artifact_name("yolov8s-fall", 320, "int8", "edgetpu")
        'yolov8s-fall-320_int8_edgetpu.tflite'
        >>> artifact_name("yolov8s-fall", 416, "int8", "onnxruntime")
        'yolov8s-fall-416_int8.onnx'
    """
    return f"{stem}-{imgsz}_{precision}{get_runtime(runtime).suffix}"


def exports_root() -> Path:
    """``<cache>/exports``: every cached export, one folder per source model."""
    return cache_dir() / "exports"


def export_dir(source_sha256: str, calibration: str = UNCALIBRATED) -> Path:
    """The cache folder for exports of the source with ``source_sha256`` calibrated as ``calibration``."""
    return exports_root() / source_sha256[:16] / calibration


def report_passed(artifact: Path) -> bool:
    """False when the artifact's report says it failed the gate (an artifact without a report counts as usable)."""
    rep = artifact.with_name(artifact.name + ".report.json")
    if not rep.is_file():
        return True
    try:
        return json.loads(rep.read_text()).get("passed") is not False
    except (OSError, ValueError):
        return False


def find_artifact(source_sha256: str | None, name: str, also: tuple[Path, ...] = ()) -> Path | None:
    """The export called ``name``: first in the folders ``also`` (e.g. next to the model card), then the newest
    one in the cache for this source that passed its gate."""
    for folder in also:
        if (folder / name).is_file():
            return folder / name
    if source_sha256 is None:
        return None
    root = exports_root() / source_sha256[:16]
    found = [p for p in root.glob(f"*/{name}") if p.is_file() and report_passed(p)] if root.is_dir() else []
    return max(found, key=lambda p: p.stat().st_mtime) if found else None
