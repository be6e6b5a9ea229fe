"""Stream frames: scaled down before drawing, boxes and zones land where they belong in the small picture."""

from __future__ import annotations

import cv2
import numpy as np

from edgekit.sources import open_source
from edgekit.types import Detections
from edgekit.web.feeds import CameraFeed, Overlay


def _decode(jpeg: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img.astype(np.int16)


def test_render_scales_the_frame_and_the_drawings() -> None:
    src = open_source("synthetic:0")
    frame = src.read()
    src.close()
    assert frame is not None and frame.image.shape[:2] == (720, 1280)
    box = np.array([[400, 200, 800, 600]], np.float32)
    dets = Detections(xyxy=box, scores=np.array([0.9], np.float32), class_ids=np.array([0]),
                      tracker_ids=np.array([7]))
    feed = CameraFeed("c", ["Normal", "Fall"], width=640)
    plain, drawn = _decode(feed.render(frame, Detections.empty())), _decode(feed.render(frame, dets))
    assert plain.shape == (360, 640, 3)
    ys, xs = np.nonzero(np.abs(drawn - plain).max(axis=2) > 60)
    x1, y1, x2, y2 = box[0] / 2
    # Every changed pixel is on the half-size box or its label just above it, none elsewhere.
    assert xs.min() >= x1 - 4 and xs.max() <= x2 + 60 and ys.min() >= y1 - 25 and ys.max() <= y2 + 4
    assert xs.max() >= x2 - 4 and ys.max() >= y2 - 4  # the box's far corner is drawn, scaled

    zone = CameraFeed("c", width=640, overlay=Overlay({"z": [(0, 0), (1200, 0), (1200, 700)]}, {}))
    ys, xs = np.nonzero(np.abs(_decode(zone.render(frame, Detections.empty())) - plain).max(axis=2) > 60)
    assert xs.max() <= 602 and xs.max() >= 596  # the zone's right edge at x = 1200 / 2
