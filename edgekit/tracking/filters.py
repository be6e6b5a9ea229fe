"""Per-label object filters and masks on Detections, vectorised: one table lookup per bound, one mask lookup.

Bounds (min/max box area, min score, min/max width/height ratio) are tables indexed by class id, so a frame's
detections are filtered with a handful of numpy comparisons. Masks are rasterised once per frame size into one
bitmap per label; a detection is dropped when its bottom-centre anchor (the point zones use) falls in its label's
mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.config.objects import ObjectsConfig
from edgekit.types import Detections


class ObjectFilter:
    """``apply(dets, frame_shape)`` keeps the detections that pass their label's filter and lie outside its masks.

    Examples:
        >>> cfg = ObjectsConfig(filters={"person": {"min_area": 500}},
        ...                     masks={"person": [[[0, 0], [100, 0], [100, 100], [0, 100]]]})
        >>> f = ObjectFilter(cfg, ["person", "car"])
        >>> d = Detections([[10, 10, 30, 30], [200, 10, 260, 90], [10, 10, 50, 60]], [0.9, 0.9, 0.9], [0, 0, 1])
        >>> f.apply(d, (720, 1280)).xyxy.tolist()
        [[200.0, 10.0, 260.0, 90.0], [10.0, 10.0, 50.0, 60.0]]
    """

    def __init__(self, cfg: ObjectsConfig, labels: Sequence[str]) -> None:
        unknown = sorted(cfg.labels() - set(labels))
        if unknown:
            raise ValueError(f"objects: label {unknown[0]!r} is not a label of the model; its labels are "
                             f"{list(labels)}")
        self.cfg, self.labels = cfg, list(labels)
        n = len(self.labels)
        self.min_area = np.zeros(n, np.float32)
        self.max_area = np.full(n, np.inf, np.float32)
        self.min_score = np.zeros(n, np.float32)
        self.min_ratio = np.zeros(n, np.float32)
        self.max_ratio = np.full(n, np.inf, np.float32)
        for label, f in cfg.filters.items():
            i = self.labels.index(label)
            self.min_area[i], self.min_score[i], self.min_ratio[i] = f.min_area, f.min_score, f.min_ratio
            if f.max_area is not None:
                self.max_area[i] = f.max_area
            if f.max_ratio is not None:
                self.max_ratio[i] = f.max_ratio
        self._mask_ids = [self.labels.index(lb) for lb in cfg.masks if cfg.masks[lb]]
        # One bitmap per masked label only (80 labels × 1080p would be 166 MB); class id → its layer, or -1.
        self._layer = np.full(n, -1, np.int64)
        self._layer[self._mask_ids] = np.arange(len(self._mask_ids))
        self._bitmaps = np.zeros((0, 0, 0), bool)  # (masked labels, H, W): True where masked
        self._shape: tuple[int, int] | None = None

    @property
    def active(self) -> bool:
        """False when nothing is configured (``apply`` would return its input)."""
        return bool(self.cfg.filters) or bool(self._mask_ids)

    def _rasterise(self, shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
        h, w = shape
        bm = np.zeros((len(self._mask_ids), h, w), bool)
        for k, i in enumerate(self._mask_ids):
            layer = np.zeros((h, w), np.uint8)
            polys = [np.round(np.asarray(p, np.float64)).astype(np.int32) for p in self.cfg.masks[self.labels[i]]]
            cv2.fillPoly(layer, polys, 1)
            bm[k] = layer.astype(bool)
        return bm

    def apply(self, dets: Detections, frame_shape: tuple[int, int]) -> Detections:
        """Detections that pass (``frame_shape`` = (height, width) of the frame the boxes are in)."""
        if not len(dets) or not self.active:
            return dets
        cid = np.clip(dets.class_ids, 0, len(self.labels) - 1)
        wh = dets.xyxy[:, 2:] - dets.xyxy[:, :2]
        area = wh[:, 0] * wh[:, 1]
        ratio = wh[:, 0] / np.maximum(wh[:, 1], 1e-6)
        keep = (area >= self.min_area[cid]) & (area <= self.max_area[cid]) & (dets.scores >= self.min_score[cid])
        keep &= (ratio >= self.min_ratio[cid]) & (ratio <= self.max_ratio[cid])
        if self._mask_ids:
            if self._shape != frame_shape:
                self._bitmaps, self._shape = self._rasterise(frame_shape), frame_shape
            h, w = frame_shape
            anchors = dets.anchors
            x = np.clip(anchors[:, 0].astype(np.int64), 0, w - 1)
            y = np.clip(anchors[:, 1].astype(np.int64), 0, h - 1)
            layer = self._layer[cid]
            masked = self._bitmaps[np.maximum(layer, 0), y, x] if len(self._bitmaps) else np.zeros(len(dets), bool)
            keep &= ~(masked & (layer >= 0))
        return dets[keep]
