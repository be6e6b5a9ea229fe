"""The tracker as the rules use it (ByteTrack behind ``Tracker``): one id for one walking person, keypoints kept."""

from __future__ import annotations

import numpy as np

from edgekit.tracking.tracker import Tracker
from edgekit.types import Detections


def test_tracker_keeps_one_id_for_a_walking_person_and_keeps_keypoints():
    t = Tracker(frame_rate=10)
    ids = set()
    for x in np.linspace(100, 1100, 30):
        kp = np.zeros((1, 33, 3), np.float32)
        d = Detections([[x - 40, 300, x + 40, 600]], [0.9], [0], keypoints=kp)
        out = t.update(d)
        if len(out):
            ids.add(int(out.tracker_ids[0]))
            assert out.keypoints is not None and out.keypoints.shape == (1, 33, 3)
    assert len(ids) == 1
