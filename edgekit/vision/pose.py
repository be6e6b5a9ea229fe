"""Pose: MediaPipe on person crops, keypoints (N×33×3) into Detections.

MediaPipe (``pip install 'edgekit[pose]'``, pinned 0.10.14 which bundles its models) is imported only when a
``PoseEstimator`` is built. The rule conditions that read the keypoints live in ``edgekit.tracking.conditions``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.errors import MissingDependencyError
from edgekit.types import NUM_KEYPOINTS, Detections

log = logging.getLogger(__name__)

_PAD = 0.15  # crop margin around a box so limbs cut by a tight box are still seen


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
