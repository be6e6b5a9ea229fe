"""Zones (polygons) and lines on edgekit Detections, backed by supervision's PolygonZone and LineZone."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.types import Detections


def _sv() -> Any:
    import supervision as sv

    return sv


def to_sv(dets: Detections) -> Any:
    """supervision.Detections view of edgekit Detections (the row index travels in ``data['idx']``)."""
    sv = _sv()
    return sv.Detections(
        xyxy=dets.xyxy.astype(np.float64),
        confidence=dets.scores,
        class_id=dets.class_ids,
        tracker_id=dets.tracker_ids,
        data={"idx": np.arange(len(dets))},
    )


class Zone:
    """A polygon; ``contains(dets)`` is True where a detection's bottom-centre anchor lies inside.

    Examples:
        >>> z = Zone("door", [(0, 0), (100, 0), (100, 100), (0, 100)])
        >>> z.contains(Detections([[10, 10, 20, 50], [10, 10, 20, 150]], [0.9, 0.9], [0, 0])).tolist()
        [True, False]
    """

    def __init__(self, name: str, polygon: Sequence[tuple[float, float]]) -> None:
        sv = _sv()
        self.name = name
        self.polygon = np.round(np.asarray(polygon, dtype=np.float64)).astype(np.int64)
        self._zone = sv.PolygonZone(self.polygon, triggering_anchors=(sv.Position.BOTTOM_CENTER,))

    def contains(self, dets: Detections) -> npt.NDArray[np.bool_]:
        """Boolean mask over ``dets``."""
        if len(dets) == 0:
            return np.zeros(0, dtype=bool)
        return np.asarray(self._zone.trigger(to_sv(dets)), dtype=bool)


class Line:
    """A directed line; ``cross(dets)`` returns (in, out) masks for tracked detections that crossed it this frame.

    Direction follows supervision's LineZone: for a line drawn top → bottom on screen, moving left → right is
    ``in``. Needs ``tracker_ids``; call it exactly once per frame (it remembers each track's side).
    """

    def __init__(self, name: str, start: tuple[float, float], end: tuple[float, float]) -> None:
        sv = _sv()
        self.name = name
        self._line = sv.LineZone(
            sv.Point(*start), sv.Point(*end), triggering_anchors=(sv.Position.BOTTOM_CENTER,)
        )

    def cross(self, dets: Detections) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        if len(dets) == 0 or dets.tracker_ids is None:
            z = np.zeros(len(dets), dtype=bool)
            return z, z.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cin, cout = self._line.trigger(to_sv(dets))
        return np.asarray(cin, dtype=bool), np.asarray(cout, dtype=bool)
