"""Annotate frames with boxes, labels, scores and track ids."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.types import Detections

_PALETTE = [(56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207), (10, 249, 72)]


def draw(image: npt.NDArray[np.uint8], dets: Detections, labels: Sequence[str] = ()) -> npt.NDArray[np.uint8]:
    """A copy of ``image`` with every detection drawn on it."""
    out = image.copy()
    thick = max(1, round(sum(out.shape[:2]) / 600))
    for i in range(len(dets)):
        x1, y1, x2, y2 = (round(float(v)) for v in dets.xyxy[i])
        cid = int(dets.class_ids[i])
        color = _PALETTE[cid % len(_PALETTE)]
        name = labels[cid] if 0 <= cid < len(labels) else str(cid)
        text = f"{name} {dets.scores[i]:.2f}"
        if dets.tracker_ids is not None:
            text = f"#{int(dets.tracker_ids[i])} {text}"
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, thick / 3, max(1, thick - 1))
        ty = max(y1, th + base)
        cv2.rectangle(out, (x1, ty - th - base), (x1 + tw, ty), color, -1)
        cv2.putText(
            out,
            text,
            (x1, ty - base),
            cv2.FONT_HERSHEY_SIMPLEX,
            thick / 3,
            (255, 255, 255),
            max(1, thick - 1),
            cv2.LINE_AA,
        )
        if dets.keypoints is not None:
            for x, y, v in dets.keypoints[i]:
                if v > 0.5:
                    cv2.circle(out, (int(x), int(y)), thick + 1, (0, 255, 255), -1)
    return out
