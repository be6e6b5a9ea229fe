"""Per-zone, per-label object counts of one camera (what Home Assistant's count sensors show)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from edgekit.config.daemon import RuleConfig
from edgekit.tracking.zones import Zone
from edgekit.types import Detections

Counts = dict[tuple[str, str], int]
MAX_ALL_LABELS = 10  # counting every label of an 80-class model would flood Home Assistant with sensors


def counted_labels(rules: Sequence[RuleConfig], model_labels: Sequence[str]) -> list[str]:
    """Labels counted per zone on a camera: those its rules name, else (no rule names one) every label of a
    model with at most ``MAX_ALL_LABELS`` labels."""
    named = {lb for r in rules for lb in r.labels}
    if named:
        return [lb for lb in model_labels if lb in named]
    return list(model_labels) if len(model_labels) <= MAX_ALL_LABELS else []


class ZoneCounter:
    """Counts the detections of each label in each zone; ``update`` returns the counts when any changed.

    Examples:
        >>> zc = ZoneCounter({"path": Zone("path", [(0, 0), (100, 0), (100, 100), (0, 100)])}, ["Normal", "Fall"])
        >>> zc.update(Detections([[10, 10, 20, 50], [30, 10, 40, 60]], [0.9, 0.8], [0, 0]))
        {('path', 'Normal'): 2, ('path', 'Fall'): 0}
        >>> zc.update(Detections([[10, 10, 20, 50], [30, 10, 40, 60]], [0.9, 0.8], [0, 0])) is None
        True
    """

    def __init__(self, zones: Mapping[str, Zone], labels: Sequence[str], counted: Sequence[str] | None = None) -> None:
        self.zones, self.labels = dict(zones), list(labels)
        self.counted = list(counted) if counted else list(labels)
        self._ids = np.array([self.labels.index(lb) for lb in self.counted], np.int64)
        self.last: Counts | None = None

    def set_zones(self, zones: Mapping[str, Zone]) -> None:
        """Count in ``zones`` from the next update on (the zone editor saved new shapes)."""
        self.zones = dict(zones)

    def count(self, dets: Detections) -> Counts:
        """Counts of this frame (every zone × counted label, zeros included)."""
        out: Counts = {}
        for name, zone in self.zones.items():
            inside = dets.class_ids[zone.contains(dets)]
            per_id = np.bincount(inside, minlength=len(self.labels)) if len(inside) else np.zeros(len(self.labels))
            for lb, i in zip(self.counted, self._ids, strict=True):
                out[(name, lb)] = int(per_id[i])
        return out

    def update(self, dets: Detections) -> Counts | None:
        """This frame's counts when they differ from the last frame's (or on the first frame), else None."""
        now = self.count(dets)
        if now == self.last:
            return None
        self.last = now
        return now
