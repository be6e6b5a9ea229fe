"""Pose conditions on hand-made keypoints (no MediaPipe needed): a lying torso, hands up, and ``pose.min_visibility``
reaching them (a fall seen with keypoints of visibility 0.4 fires under min_visibility 0.3 and not under 0.5)."""

from __future__ import annotations

import numpy as np

from edgekit.config.cameras import CameraConfig
from edgekit.config.rules import RuleConfig
from edgekit.tracking.conditions import hands_up, torso_horizontal
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


def posed(shoulder_xy: tuple[float, float], hip_xy: tuple[float, float], wrist_y: float = 500) -> Detections:
    kp = np.zeros((1, 33, 3), np.float32)
    kp[0, :, 2] = 1.0
    kp[0, 11, :2] = kp[0, 12, :2] = shoulder_xy
    kp[0, 23, :2] = kp[0, 24, :2] = hip_xy
    kp[0, 0, :2] = (shoulder_xy[0], shoulder_xy[1] - 40)  # nose above the shoulders
    kp[0, 15, :2] = kp[0, 16, :2] = (shoulder_xy[0], wrist_y)
    return Detections([[0, 0, 10, 10]], [0.9], [0], tracker_ids=[1], keypoints=kp)


def test_pose_conditions():
    upright, lying = posed((100, 100), (100, 300)), posed((100, 300), (300, 320))
    assert not torso_horizontal(upright)[0] and torso_horizontal(lying)[0]
    assert hands_up(posed((100, 100), (100, 300), wrist_y=20))[0]
    assert not hands_up(upright)[0]
    assert not torso_horizontal(Detections([[0, 0, 1, 1]], [1.0], [0]))[0]  # no keypoints: never a fall
