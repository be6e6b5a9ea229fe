"""Pose conditions for rules (a fall, hands up) on N×33×3 keypoints in MediaPipe's landmark order.

The keypoints come from ``edgekit.vision.pose.PoseEstimator``; these functions only read them, so rules can be
tested on hand-made keypoints without MediaPipe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from edgekit.types import L_HIP, L_SHOULDER, L_WRIST, NOSE, NUM_KEYPOINTS, R_HIP, R_SHOULDER, R_WRIST, Detections


def _visible(kp: npt.NDArray[np.float32], idx: Sequence[int], min_vis: float) -> npt.NDArray[np.bool_]:
    return np.all(kp[:, list(idx), 2] >= min_vis, axis=1)


def torso_horizontal(dets: Detections, max_angle_from_horizontal: float = 35.0,
                     min_vis: float = 0.5) -> npt.NDArray[np.bool_]:
    """True where the shoulder-midpoint → hip-midpoint line is within ``max_angle`` of horizontal (a fall)."""
    kp = dets.keypoints
    if kp is None or len(dets) == 0 or kp.shape[1] < NUM_KEYPOINTS:
        return np.zeros(len(dets), dtype=bool)
    sh = (kp[:, L_SHOULDER, :2] + kp[:, R_SHOULDER, :2]) / 2
    hip = (kp[:, L_HIP, :2] + kp[:, R_HIP, :2]) / 2
    v = sh - hip
    angle = np.degrees(np.arctan2(np.abs(v[:, 1]), np.abs(v[:, 0]) + 1e-6))  # 0 = horizontal, 90 = upright
    ok = _visible(kp, (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP), min_vis)
    return ok & (angle <= max_angle_from_horizontal)


def hands_up(dets: Detections, min_vis: float = 0.5) -> npt.NDArray[np.bool_]:
    """True where both wrists are above the nose (image y grows downwards)."""
    kp = dets.keypoints
    if kp is None or len(dets) == 0 or kp.shape[1] < NUM_KEYPOINTS:
        return np.zeros(len(dets), dtype=bool)
    ok = _visible(kp, (NOSE, L_WRIST, R_WRIST), min_vis)
    return ok & (kp[:, L_WRIST, 1] < kp[:, NOSE, 1]) & (kp[:, R_WRIST, 1] < kp[:, NOSE, 1])


POSE_CONDITIONS: dict[str, Callable[[Detections, float], npt.NDArray[np.bool_]]] = {
    "fall": lambda dets, min_vis: torso_horizontal(dets, min_vis=min_vis),
    "hands_up": hands_up,
}
"""Pose condition by rule name: ``(detections, min keypoint visibility) -> mask``."""
