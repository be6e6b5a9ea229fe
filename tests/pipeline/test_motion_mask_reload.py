"""A motion mask saved by the zone editor reaches a running camera's motion stage from the next frame on, with the
background it has learnt kept."""

from __future__ import annotations

import numpy as np

from edgekit.config.daemon import CameraConfig
from edgekit.config.motion import MotionConfig
from edgekit.pipeline.motion import MotionDetector
from edgekit.tracking.rules import RuleEngine


def test_set_mask_hides_motion_under_it_from_the_next_frame() -> None:
    md = MotionDetector(MotionConfig(enabled=True))
    still = np.full((720, 1280, 3), 90, np.uint8)
    md.update(still, 0.0)
    md.update(still, 0.1)
    moved = still.copy()
    moved[300:500, 600:700] = 250
    assert md.update(moved, 0.2)  # seen
    md.set_mask([[(550.0, 250.0), (750.0, 250.0), (750.0, 550.0), (550.0, 550.0)]])
    assert not md.update(moved, 0.3)  # the same change, now under the mask
    other = still.copy()
    other[300:500, 100:200] = 250
    assert md.update(other, 0.4)  # outside it: still seen (the background was kept, no full-frame restart)


def test_the_rule_engine_carries_a_new_mask_to_the_worker() -> None:
    cam = CameraConfig(source="synthetic", frame_size=(1280, 720))
    eng = RuleEngine("cam", cam, [], ["Normal"])
    version = eng.geometry_version
    eng.set_geometry({}, {})  # zones and lines only: the mask stays
    assert eng.geometry_version == version + 1 and eng.motion_mask == []
    eng.set_geometry({}, {}, [[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]])
    assert eng.geometry_version == version + 2 and eng.motion_mask == [[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]]
