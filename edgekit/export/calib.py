"""Calibration images → model inputs, through the model's own letterbox pre-processing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.errors import EdgekitError
from edgekit.vision.preprocess import letterbox

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def list_images(folder: Path, what: str = "calibration") -> list[Path]:
    """Image files in ``folder`` (sorted, so runs are repeatable); an empty or missing folder is an error."""
    if not folder.is_dir():
        raise EdgekitError(f"{what} folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise EdgekitError(
            f"{what} folder {folder} has no images ({', '.join(IMAGE_SUFFIXES)}); add some representative frames"
        )
    return files


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """BGR uint8 image, or a clear error for an unreadable file."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise EdgekitError(f"cannot read image {path}")
    return np.asarray(img, np.uint8)


def calibration_tensors(
    folder: Path, imgsz: int, limit: int = 64, progress: Callable[[int, int], None] | None = None
) -> npt.NDArray[np.float32]:
    """Up to ``limit`` images as one N×3×imgsz×imgsz float32 array (RGB, 0..1, letterboxed)."""
    files = list_images(folder)[:limit]
    out = np.empty((len(files), 3, imgsz, imgsz), np.float32)
    for i, f in enumerate(files):
        out[i] = letterbox(read_image(f), (imgsz, imgsz))[0][0]
        if progress:
            progress(i + 1, len(files))
    log.info("calibration: %d images from %s at %d", len(files), folder, imgsz)
    return out


def nhwc_calibration_file(tensors: npt.NDArray[np.float32], path: Path) -> Path:
    """Save NCHW calibration tensors as the NHWC float32 .npy that onnx2tf's ``-cind`` takes."""
    np.save(path, np.ascontiguousarray(tensors.transpose(0, 2, 3, 1)))
    return path


class TensorReader:
    """ONNX Runtime ``CalibrationDataReader`` over a stack of ready input tensors (one per ``get_next``)."""

    def __init__(self, input_name: str, tensors: npt.NDArray[np.float32]) -> None:
        self.input_name = input_name
        self.tensors = tensors
        self._it: Iterator[npt.NDArray[np.float32]] = iter(())
        self.rewind()

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        t = next(self._it, None)
        return None if t is None else {self.input_name: t[None]}

    def rewind(self) -> None:
        self._it = iter(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._it = iter(self.tensors[start_index:end_index])
