"""``pose.min_visibility`` reaches the pose conditions: a fall seen with keypoints of visibility 0.4 fires under
min_visibility 0.3 and not under 0.5 (hand-made keypoints, no MediaPipe needed)."""

from __future__ import annotations

import numpy as np

from edgekit.config.cameras import CameraConfig
from edgekit.config.rules import RuleConfig
from edgekit.tracking.rules import RuleEngine
from edgekit.types import L_HIP, L_SHOULDER, NUM_KEYPOINTS, R_HIP, R_SHOULDER, Detections


def _lying(vis: float) -> Detections:
    kp = np.zeros((1, NUM_KEYPOINTS, 3), np.float32)
    kp[0, [L_SHOULDER, R_SHOULDER], :] = [[100, 200, vis], [100, 210, vis]]
    kp[0, [L_HIP, R_HIP], :] = [[300, 205, vis], [300, 215, vis]]  # shoulders → hips horizontal: lying down
    return Detections([[80, 180, 320, 240]], [0.9], [1], tracker_ids=[3], keypoints=kp)


def fired(min_visibility: float) -> int:
    eng = RuleEngine("cam", CameraConfig(source="synthetic"), [RuleConfig(name="fall", pose="fall")],
                     ["Normal", "Fall"], min_visibility=min_visibility)
    return sum(len(eng.update(_lying(0.4), t)) for t in (0.0, 0.1))


def test_min_visibility_is_honoured():
    assert fired(0.3) == 1
    assert fired(0.5) == 0
