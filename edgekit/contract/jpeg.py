"""JPEG encoding, one setting for every side that sends a picture (snapshots, MJPEG, the camera entity)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt


def encode_jpeg(image: npt.NDArray[np.uint8], quality: int = 85) -> bytes:
    """``image`` (BGR) as JPEG bytes at ``quality`` (1-100)."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())
