"""Pose with the real MediaPipe 0.10.14 (the `[pose]` extra) on the real photos; skipped where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgekit.errors import MissingDependencyError
from edgekit.tracking.conditions import torso_horizontal
from edgekit.types import Detections
from edgekit.vision.pose import PoseEstimator

SHARED = Path(os.environ.get("EDGEKIT_SHARED") or Path(__file__).resolve().parents[2].parent / "shared")


def zidane() -> tuple[np.ndarray, Detections]:
    img = cv2.imread(str(SHARED / "data" / "images" / "zidane.jpg"))
    h, w = img.shape[:2]
    boxes = []
    for ln in (SHARED / "data" / "labels" / "zidane.txt").read_text().splitlines():
        if ln.strip():
            _, x, y, bw, bh = map(float, ln.split())
            boxes.append([(x - bw / 2) * w, (y - bh / 2) * h, (x + bw / 2) * w, (y + bh / 2) * h])
    return img, Detections(boxes, [0.9] * len(boxes), [0] * len(boxes))


def test_missing_mediapipe_is_a_clear_error():
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match=r"edgekit\[pose\]"):
            PoseEstimator()
    else:
        pytest.skip("mediapipe is installed")


def test_upright_people_are_not_falls_and_a_rotated_person_is():
    pytest.importorskip("mediapipe")
    img, dets = zidane()
    est = PoseEstimator()
    up = est.estimate(img, dets)
    assert up.keypoints is not None and up.keypoints.shape == (len(dets), 33, 3)
    assert not torso_horizontal(up).any()
    # the same photo turned 90°: the person whose hips are visible now lies horizontally
    h = img.shape[0]
    rot = cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    rb = [[h - b[3], b[0], h - b[1], b[2]] for b in dets.xyxy]
    lying = est.estimate(rot, Detections(rb, dets.scores, dets.class_ids))
    assert torso_horizontal(lying).any()
    est.close()
