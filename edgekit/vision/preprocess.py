"""Letterbox pre-processing, matching Ultralytics' LetterBox for fixed-size models."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

PAD_VALUE = 114


@dataclass(frozen=True, slots=True)
class LetterboxInfo:
    """How an original frame was fitted into the model input: scale, padding and original size."""

    gain: float
    """The resize factor; per-axis factors below come from the rounded resized size (as Ultralytics)."""
    pad_x: int
    pad_y: int
    orig_h: int
    orig_w: int
    gain_x: float = 0.0
    gain_y: float = 0.0


def letterbox_image(
    image: npt.NDArray[np.uint8], size: tuple[int, int]
) -> tuple[npt.NDArray[np.uint8], LetterboxInfo]:
    """Resize keeping the aspect ratio and pad (value 114) to ``size`` = (height, width), centred."""
    h, w = image.shape[:2]
    th, tw = size
    gain = min(th / h, tw / w)
    nw, nh = round(w * gain), round(h * gain)
    if (nw, nh) != (w, h):
        image = np.asarray(cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    dw, dh = (tw - nw) / 2, (th - nh) / 2
    # Same rounding as Ultralytics, so boxes agree to the pixel.
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    out = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return np.ascontiguousarray(out), LetterboxInfo(gain, left, top, h, w, nw / w, nh / h)


def letterbox(
    image: npt.NDArray[np.uint8], size: tuple[int, int]
) -> tuple[npt.NDArray[np.float32], LetterboxInfo]:
    """BGR uint8 H×W×3 → NCHW float32 RGB in 0..1 of ``size`` = (height, width), plus how to map boxes back."""
    boxed, info = letterbox_image(image, size)
    blob = cv2.dnn.blobFromImage(boxed, scalefactor=1 / 255.0, swapRB=True)
    return blob.astype(np.float32, copy=False), info


def to_nhwc(tensor: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """NCHW → NHWC (TFLite models take channels last)."""
    return np.ascontiguousarray(tensor.transpose(0, 2, 3, 1))
