"""The processing-rate heuristic (alerts.rate): what each rule needs, from assumed and from measured motion."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from edgekit.config.daemon import CameraConfig, RuleConfig
from edgekit.sources import SyntheticScene, Walker
from edgekit.tracking.rate import MAX_STEP, MotionSampler, RateCheck, min_width, rate_needs
from edgekit.tracking.rules import RuleEngine
from edgekit.tracking.tracker import Tracker
from edgekit.types import Detections

CAM = CameraConfig(
    source="synthetic",
    zones={"middle": {"polygon": [[440, 0], [840, 0], [840, 720], [440, 720]]},
           "strip": {"polygon": [[600, 0], [640, 0], [640, 720], [600, 720]]}},
    lines={"gate": {"start": [640, 0], "end": [640, 720]}},
)
RULES = [
    RuleConfig(name="in_zone", zone="middle", min_frames=2),
    RuleConfig(name="narrow", zone="strip", min_frames=2),
    RuleConfig(name="entering", line="gate", direction="in"),
    RuleConfig(name="crowd", zone="middle", min_count=3),
]


def test_min_width_of_a_zone():
    assert min_width([[440, 0], [840, 0], [840, 720], [440, 720]]) == pytest.approx(400)
    assert min_width([[0, 0], [100, 100], [90, 110], [-10, 10]]) == pytest.approx(np.hypot(10, 10), rel=1e-3)


def test_needs_with_assumed_motion():
    needs = {n.rule: n for n in rate_needs(RULES, {n: z.polygon for n, z in CAM.zones.items()}, MotionSampler(), 720)}
    assert "crowd" not in needs  # count rules are not checked
    track = 1.0 / 0.4 / MAX_STEP  # one body height per second, bodies 0.4 as wide as tall
    assert needs["entering"].fps == pytest.approx(track) and "assumed" in needs["entering"].why
    assert needs["in_zone"].fps == pytest.approx(track)  # 400 px at 360 px/s: 2 frames need only 1.8 fps
    assert needs["narrow"].fps == pytest.approx(2 * 360 / 40)  # 40 px wide: 18 fps for two frames in it
    assert "'strip'" in needs["narrow"].why


def walk_needs(fps: float) -> dict[str, float]:
    """Needs measured on the synthetic walk's ground-truth boxes, tracked at ``fps``."""
    ws = [Walker(sprite=s, height=460, foot_y=640, x0=a, x1=b, t0=4.0 * k, t1=4.0 * k + 3.5)
          for k, (s, a, b) in enumerate([(0, 150.0, 1130.0), (1, 1130.0, 150.0), (2, 150.0, 1130.0)])]
    scene, tracker = SyntheticScene(ws), Tracker(frame_rate=fps)
    eng = RuleEngine("walk", CAM, RULES, ["Normal", "Fall"])
    for i in range(int(12 * fps)):
        boxes = scene.render(i / fps)[1]
        eng.update(tracker.update(Detections(boxes, np.full(len(boxes), 0.8), np.zeros(len(boxes), int))), i / fps)
    assert eng.motion.samples >= 20
    return {n.rule: n.fps for n in eng.rate_needs(720)}


def test_the_walk_needs_between_3_and_4_fps():
    """The real detector counts every crossing of this walk at 4 fps and misses one at 3 (test_rules_low_rate.py)."""
    needs = walk_needs(6.0)
    assert 3.0 < needs["entering"] < 4.0
    check = RateCheck("walk")
    assert check.check([n for n in rate_needs(RULES[2:3], {}, MotionSampler(), 720)], 10.0) == []


def test_a_slow_camera_is_warned_once_per_rule(caplog):
    check = RateCheck("walk")
    needs = rate_needs(RULES, {n: z.polygon for n, z in CAM.zones.items()}, MotionSampler(), 720)
    with caplog.at_level(logging.WARNING, logger="edgekit.tracking.rate"):
        lines = check.check(needs, 3.0)
        again = check.check(needs, 3.0)
    assert len(lines) == 3 and lines == again
    assert all("camera runs 3.0" in ln for ln in lines)
    assert len([r for r in caplog.records if "camera walk" in r.getMessage()]) == 3  # not repeated
    assert check.check(needs, 30.0) == []  # fast enough: nothing listed
