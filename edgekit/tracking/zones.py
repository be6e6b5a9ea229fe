"""Zones (polygons: a bottom-centre anchor inside) and lines (segment crossings) on edgekit Detections."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.types import Detections


class Zone:
    """A polygon; ``contains(dets)`` is True where a detection's bottom-centre anchor lies inside.

    The test is supervision's ``PolygonZone`` (whose results the rules were written against), without importing
    supervision (38 MB of the daemon's RSS, with scipy): the polygon is filled into a mask once (its edges
    count as inside), and each anchor, rounded to the nearest pixel, is looked up in it.

    Examples:
        >>> z = Zone("door", [(0, 0), (100, 0), (100, 100), (0, 100)])
        >>> z.contains(Detections([[10, 10, 20, 50], [10, 10, 20, 150]], [0.9, 0.9], [0, 0])).tolist()
        [True, False]
    """

    def __init__(self, name: str, polygon: Sequence[tuple[float, float]]) -> None:
        self.name = name
        self.polygon = np.round(np.asarray(polygon, dtype=np.float64)).astype(np.int64)
        if self.polygon.ndim != 2 or self.polygon.shape[-1] != 2 or len(self.polygon) < 3:
            raise ValueError(f"zone {name!r}: a polygon needs at least 3 (x, y) points, got {self.polygon.tolist()}")
        x_max, y_max = np.max(self.polygon, axis=0)
        self.mask = np.zeros((int(y_max) + 2, int(x_max) + 2), dtype=np.uint8)
        cv2.fillPoly(self.mask, [self.polygon.astype(np.int32)], color=(1,))

    def contains(self, dets: Detections) -> npt.NDArray[np.bool_]:
        """Boolean mask over ``dets``."""
        if len(dets) == 0:
            return np.zeros(0, dtype=bool)
        xyxy = dets.xyxy.astype(np.float64)
        x = np.rint((xyxy[:, 0] + xyxy[:, 2]) / 2).astype(int)
        y = np.rint(xyxy[:, 3]).astype(int)
        h, w = self.mask.shape
        inside = (x >= 0) & (y >= 0) & (x < w) & (y < h)
        return inside & (self.mask[np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)] > 0)


class Line:
    """A directed line segment; ``cross(dets, t)`` returns (in, out) masks of tracks that crossed it since their
    previous position.

    A crossing is counted from the segment a track's bottom-centre anchor travelled between two processed frames
    (segment–segment intersection, direction from the side it came from), not from where it was sampled, so a person
    who passed the line between two frames of a slow camera is still counted, and so is one whose sampled positions
    both lie beyond the line's ends while its path went through it. For a line drawn top → bottom on screen, moving
    left → right is ``in`` (as supervision's LineZone). Needs ``tracker_ids``; call it once per frame (it remembers
    each track's last position; tracks unseen for ``forget_s`` are forgotten so memory stays flat).

    Examples:
        >>> gate = Line("gate", (100, 0), (100, 200))
        >>> walk = [Detections([[x - 5, 50, x + 5, 100]], [0.9], [0], tracker_ids=[1]) for x in (40, 160)]
        >>> [tuple(int(m[0]) for m in gate.cross(d, float(i))) for i, d in enumerate(walk)]
        [(0, 0), (1, 0)]
    """

    def __init__(
        self, name: str, start: tuple[float, float], end: tuple[float, float], forget_s: float = 120.0
    ) -> None:
        self.name = name
        self.start = np.asarray(start, dtype=np.float64)
        self.end = np.asarray(end, dtype=np.float64)
        self.forget_s = forget_s
        self._last: dict[int, tuple[float, float, float]] = {}  # track id -> (x, y, t) of its last off-line anchor

    def side(self, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Signed side of N×2 points: > 0 left of start → end (image coordinates), < 0 right, 0 on the line."""
        d = self.end - self.start
        return np.asarray(d[0] * (points[:, 1] - self.start[1]) - d[1] * (points[:, 0] - self.start[0]))

    def cross(self, dets: Detections, t: float = 0.0) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        n = len(dets)
        cin, cout = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        if n == 0 or dets.tracker_ids is None:
            self._prune(t)
            return cin, cout
        cur = np.stack([(dets.xyxy[:, 0] + dets.xyxy[:, 2]) / 2, dets.xyxy[:, 3]], axis=1).astype(np.float64)
        tids = dets.tracker_ids.astype(np.int64)
        known = np.array([int(k) in self._last for k in tids], dtype=bool)
        prev = np.array([self._last.get(int(k), (np.nan, np.nan, 0.0))[:2] for k in tids], dtype=np.float64)
        s_prev, s_cur = self.side(prev), self.side(cur)
        # The path prev → cur must cross the line (opposite sides) within its ends: the line's end points lie on
        # opposite sides of the path (or on it). Both tests are sign tests of 2-D cross products (vectorised).
        path = cur - prev
        e0 = path[:, 0] * (self.start[1] - prev[:, 1]) - path[:, 1] * (self.start[0] - prev[:, 0])
        e1 = path[:, 0] * (self.end[1] - prev[:, 1]) - path[:, 1] * (self.end[0] - prev[:, 0])
        hit = known & (s_prev * s_cur < 0) & (e0 * e1 <= 0)
        cin, cout = hit & (s_prev > 0), hit & (s_prev < 0)
        for k, (x, y), s in zip(tids.tolist(), cur.tolist(), s_cur.tolist(), strict=True):
            if s != 0:  # a point on the line is neither side: the crossing is counted when it leaves it
                self._last[k] = (x, y, t)
            elif k in self._last:
                self._last[k] = (*self._last[k][:2], t)
        self._prune(t)
        return cin, cout

    def _prune(self, t: float) -> None:
        if len(self._last) > 64:
            for k in [k for k, v in self._last.items() if t - v[2] > self.forget_s]:
                del self._last[k]
