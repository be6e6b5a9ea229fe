"""Crossings at a slow processing rate: the synthetic walk seen at 4 processed frames per second, real detector.

Three people cross one after the other (left → right, right → left, left → right) through a zone and a gate line.
Frames are sampled deterministically at 4 fps (what a board processing a 15 fps camera at ~4 fps sees), so the
result does not depend on this machine's speed. Every crossing must be counted. The same detections through the
tracker without its buffered matching lose two of the three people: that is the failure this guards against.
"""

from __future__ import annotations

import pytest

from edgekit.config.daemon import CameraConfig, RuleConfig
from edgekit.sources import SyntheticScene, Walker
from edgekit.tracking.rules import RuleEngine
from edgekit.tracking.tracker import Tracker
from edgekit.types import Detections
from tests.helpers import DEFAULT_MODEL

FPS = 4.0
CAM = CameraConfig(
    source="synthetic",
    zones={"middle": {"polygon": [[440, 0], [840, 0], [840, 720], [440, 720]]}},
    lines={"gate": {"start": [640, 0], "end": [640, 720]}},
)
RULES = [
    RuleConfig(name="in_zone", zone="middle", min_frames=2, cooldown_s=60),
    RuleConfig(name="entering", line="gate", direction="in", cooldown_s=60),
    RuleConfig(name="leaving", line="gate", direction="out", cooldown_s=60),
]


def walk_scene() -> SyntheticScene:
    """The daemon end-to-end test's walk: a door on each side (x≈150 and x≈1130), 3.5 s per crossing."""
    ws = []
    for k, (sprite, l2r) in enumerate([(0, True), (1, False), (2, True)]):
        x0, x1 = (150.0, 1130.0) if l2r else (1130.0, 150.0)
        ws.append(Walker(sprite=sprite, height=460, foot_y=640, x0=x0, x1=x1, t0=4.0 * k, t1=4.0 * k + 3.5))
    return SyntheticScene(ws)


@pytest.fixture(scope="module")
def detections_at_4fps() -> list[tuple[float, Detections]]:
    if not DEFAULT_MODEL.exists():
        pytest.skip(f"{DEFAULT_MODEL} missing")
    from edgekit.vision.detector import Detector

    det = Detector.load(str(DEFAULT_MODEL), profile="desktop", conf=0.35)
    scene = walk_scene()
    try:
        return [(i / FPS, det.detect(scene.render(i / FPS)[0])) for i in range(int(12 * FPS))]
    finally:
        det.close()


def events(frames: list[tuple[float, Detections]], tracker: Tracker) -> dict[str, int]:
    eng = RuleEngine("walk", CAM, RULES, ["Normal", "Fall"])
    out = {r.name: 0 for r in RULES}
    for t, d in frames:
        for ev in eng.update(tracker.update(d), 1000.0 + t):
            out[ev.rule] += 1
    return out


@pytest.mark.slow
def test_every_crossing_of_the_walk_is_counted_at_4_fps(detections_at_4fps):
    assert sum(len(d) > 0 for _, d in detections_at_4fps) >= 40  # the detector sees the walkers
    got = events(detections_at_4fps, Tracker(frame_rate=FPS))
    assert got == {"in_zone": 3, "entering": 2, "leaving": 1}
    # Control: ByteTrack's plain IoU matching at this rate never confirms the later walkers' tracks
    plain = events(detections_at_4fps, Tracker(frame_rate=FPS, iou_buffer=0.0, minimum_matching_threshold=0.8))
    assert plain["entering"] + plain["leaving"] < 3
