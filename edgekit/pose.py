"""Pose: MediaPipe on person crops, keypoints into Detections, and pose conditions for rules.

MediaPipe (``pip install 'edgekit[pose]'``, pinned 0.10.14 which bundles its models) is imported only when a
``PoseEstimator`` is built. The conditions work on any N×33×3 keypoints in MediaPipe's landmark order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.errors import MissingDependencyError
from edgekit.types import Detections

log = logging.getLogger(__name__)

NUM_KEYPOINTS = 33
NOSE, L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST, L_HIP, R_HIP = 0, 11, 12, 15, 16, 23, 24
_PAD = 0.15  # crop margin around a box so limbs cut by a tight box are still seen


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


POSE_CONDITIONS: dict[str, Callable[[Detections], npt.NDArray[np.bool_]]] = {
    "fall": torso_horizontal,
    "hands_up": hands_up,
}


class PoseEstimator:
    """MediaPipe Pose on each selected detection's crop; returns the Detections with ``keypoints`` (N×33×3).

    Keypoints are (x, y, visibility) in original-frame pixels; detections not selected, or where no pose was
    found, get zeros (visibility 0, so no condition holds for them).

    Examples:
        >>> est = PoseEstimator(class_ids=[0])  # doctest: +SKIP
        >>> dets = est.estimate(frame_bgr, dets)  # doctest: +SKIP
    """

    def __init__(self, class_ids: Sequence[int] | None = None, model_complexity: int = 1,
                 min_detection_confidence: float = 0.5) -> None:
        try:
            import mediapipe as mp  # lazy: an optional, heavy dependency
        except ImportError as e:
            raise MissingDependencyError(
                "mediapipe (pose)", "pip install 'edgekit[pose]' (mediapipe==0.10.14, bundles its pose models)"
            ) from e
        self._pose: Any = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=model_complexity,
            min_detection_confidence=min_detection_confidence,
        )
        self.class_ids = None if class_ids is None else np.asarray(list(class_ids), dtype=np.int64)
        self.last_ms = 0.0

    def estimate(self, image: npt.NDArray[np.uint8], dets: Detections) -> Detections:
        """Add keypoints to ``dets`` (image is H×W×3 BGR, the frame the detections came from)."""
        import time

        t0 = time.perf_counter()
        kps = np.zeros((len(dets), NUM_KEYPOINTS, 3), dtype=np.float32)
        h, w = image.shape[:2]
        for i in range(len(dets)):
            if self.class_ids is not None and len(self.class_ids) and dets.class_ids[i] not in self.class_ids:
                continue
            x1, y1, x2, y2 = dets.xyxy[i]
            px, py = (x2 - x1) * _PAD, (y2 - y1) * _PAD
            cx1, cy1 = int(max(0, x1 - px)), int(max(0, y1 - py))
            cx2, cy2 = int(min(w, x2 + px)), int(min(h, y2 + py))
            if cx2 - cx1 < 8 or cy2 - cy1 < 8:
                continue
            crop = np.ascontiguousarray(image[cy1:cy2, cx1:cx2, ::-1])  # MediaPipe wants RGB
            res = self._pose.process(crop)
            if res.pose_landmarks is None:
                continue
            lm = np.array([(p.x, p.y, p.visibility) for p in res.pose_landmarks.landmark], dtype=np.float32)
            kps[i, :, 0] = cx1 + lm[:, 0] * (cx2 - cx1)
            kps[i, :, 1] = cy1 + lm[:, 1] * (cy2 - cy1)
            kps[i, :, 2] = lm[:, 2]
        self.last_ms = (time.perf_counter() - t0) * 1000
        return dets.with_(keypoints=kps)

    def close(self) -> None:
        self._pose.close()
