"""Builders shared by the tests: paths to the shared photos and labels, IoU, running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEKIT_SHARED", REPO.parent / "shared"))
IMAGES = SHARED / "data" / "images"
LABELS = SHARED / "data" / "labels"
DEFAULT_MODEL = REPO / "models" / "yolov8s-fall.onnx"


def iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Pairwise IoU of two N×4 / M×4 xyxy arrays."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
    return inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-9)


def yolo_labels(name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
    """Hand-labelled person boxes of a shared photo, as xyxy pixels."""
    h, w = shape[:2]
    rows = [ln.split() for ln in (LABELS / f"{Path(name).stem}.txt").read_text().splitlines() if ln.strip()]
    out = []
    for _, cx, cy, bw, bh in ((float(v) for v in r) for r in rows):
        out.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
    return np.asarray(out, np.float64).reshape(-1, 4)


def run_cli(
    *args: str, timeout: float = 600, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    """Run ``edgekit ARGS`` in a subprocess (from ``cwd``), as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "edgekit.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
