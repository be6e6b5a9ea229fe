"""edgekit's zones against supervision's PolygonZone, side by side: the same membership for anchors all over the frame.
supervision (the reference) is a test dependency only; the daemon does not import it."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.tracking.zones import Zone
from edgekit.types import Detections

sv = pytest.importorskip("supervision", reason="supervision is the reference (pip install 'edgekit[dev]')")


@pytest.mark.parametrize("seed", range(20))
def test_zone_membership_matches_supervision_polygon_zone(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 9))
    centre = rng.uniform(200, 900, 2)
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    poly = [(float(centre[0] + r * np.cos(a)), float(centre[1] + r * np.sin(a)))
            for a, r in zip(angles, rng.uniform(50, 400, k), strict=True)]
    zone = Zone("z", poly)
    ref = sv.PolygonZone(zone.polygon, triggering_anchors=(sv.Position.BOTTOM_CENTER,))
    # bottom-centre anchors all over the frame, beyond it, and on the polygon's own corners (edges count as inside)
    xy = np.concatenate([rng.uniform(-100, 1400, (400, 2)), zone.polygon.astype(np.float64)])
    wh = rng.uniform(1, 200, (len(xy), 2))
    boxes = np.stack([xy[:, 0] - wh[:, 0] / 2, xy[:, 1] - wh[:, 1], xy[:, 0] + wh[:, 0] / 2, xy[:, 1]], axis=1)
    dets = Detections(boxes.astype(np.float32), np.full(len(xy), 0.9, np.float32), np.zeros(len(xy), np.int64))
    want = ref.trigger(sv.Detections(xyxy=dets.xyxy.astype(np.float64)))
    got = zone.contains(dets)
    assert got.tolist() == want.tolist()
    assert 0 < got.sum() < len(got)
