"""Annotated JPEG snapshots of the frame that fired an Event."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.types import Detections, Event
from edgekit.vision.draw import draw

_RED = (0, 0, 255)


def render_snapshot(image: npt.NDArray[np.uint8], dets: Detections, labels: Sequence[str], event: Event,
                    polygon: npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.uint8]:
    """The frame with all detections, the zone outline and the firing object's box highlighted."""
    out = draw(image, dets, labels)
    if polygon is not None and len(polygon) >= 3:
        cv2.polylines(out, [polygon.reshape(-1, 1, 2).astype(np.int32)], True, (0, 255, 255), 2)
    x1, y1, x2, y2 = (round(v) for v in event.box)
    cv2.rectangle(out, (x1, y1), (x2, y2), _RED, 3)
    cv2.putText(out, event.rule, (x1, max(20, y1 - 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.8, _RED, 2, cv2.LINE_AA)
    return out


def write_snapshot(folder: Path, event: Event, jpeg: bytes) -> Path:
    """Write ``<folder>/<source>/<event id>.jpg`` atomically (a reader never sees half a file)."""
    path = folder / event.source / f"{event.id}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jpg.tmp")
    tmp.write_bytes(jpeg)
    os.replace(tmp, path)
    return path
