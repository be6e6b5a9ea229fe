"""Motion gating in the camera worker with the real detector and tracker: no crossing or dwell is lost.

Scene (6 FPS): empty for 3 s; a person walks in from the left door, crosses the gate line and stops on the mat
in the dwell zone for 5 s; then leaves to the right. The same frames run through a worker that detects every
frame and one gated by motion: both must fire the same events, while the gated one skips the empty start and
checks the standing person only once a second.
"""

from __future__ import annotations

import pytest

from edgekit.config.daemon import DaemonConfig
from edgekit.pipeline.camera import CameraWorker
from edgekit.sources import SyntheticScene, Walker
from edgekit.tracking.rules import RuleEngine
from edgekit.tracking.tracker import Tracker
from edgekit.types import Frame
from tests.helpers import DEFAULT_MODEL

FPS = 6.0
SECONDS = 13.0


def porch_scene() -> SyntheticScene:
    person = {"sprite": 0, "height": 460, "foot_y": 640}
    return SyntheticScene([
        Walker(**person, x0=150.0, x1=640.0, t0=3.0, t1=5.0),     # walks in and across the gate at x=400
        Walker(**person, x0=640.0, x1=640.0, t0=5.0 + 1 / FPS, t1=10.0),  # stands on the mat
        Walker(**person, x0=640.0, x1=1130.0, t0=10.0 + 1 / FPS, t1=12.0),  # leaves
    ])


def config(motion: bool) -> DaemonConfig:
    return DaemonConfig.model_validate({
        "cameras": {"porch": {
            "source": "synthetic", "frame_size": [1280, 720],
            "motion": {"enabled": motion, "hold_s": 0.5, "stationary_interval_s": 1.0, "background_s": 1.0},
            "zones": {"mat": {"polygon": [[540, 560], [740, 560], [740, 720], [540, 720]]}},
            "lines": {"gate": {"start": [400, 0], "end": [400, 720]}},
        }},
        "rules": [
            {"name": "crossing", "line": "gate", "direction": "any", "cooldown_s": 60},
            {"name": "on_mat", "zone": "mat", "dwell_s": 2.0, "cooldown_s": 60},
        ],
        "mqtt": None,
    })


@pytest.fixture(scope="module")
def detector():
    from edgekit.vision.detector import Detector

    det = Detector.load(str(DEFAULT_MODEL), conf=0.35)
    yield det
    det.close()


def run(detector, motion: bool) -> tuple[list, CameraWorker, list[float]]:
    """Events, the worker, and the times of the frames the detector ran on."""
    cfg = config(motion)
    cam = cfg.cameras["porch"]
    engine = RuleEngine("porch", cam, cfg.rules, detector.labels)
    worker = CameraWorker("porch", cam, detector, engine, sink=lambda *a: None)
    worker.tracker = Tracker(frame_rate=FPS)
    scene, events, ran = porch_scene(), [], []
    for i in range(round(SECONDS * FPS)):
        t = i / FPS
        before = worker.stats.motion_skipped
        events += worker.process(Frame(scene.render(t)[0], "porch", i), None, t)
        if worker.stats.motion_skipped == before:
            ran.append(t)
    return events, worker, ran


@pytest.mark.slow
def test_gated_worker_fires_the_same_events_as_detecting_every_frame(detector):
    every, w_every, _ = run(detector, motion=False)
    gated, w_gated, ran = run(detector, motion=True)
    assert sorted(e.rule for e in every) == ["crossing", "on_mat"], [(e.rule, e.start_ts) for e in every]
    assert sorted(e.rule for e in gated) == ["crossing", "on_mat"], [(e.rule, e.start_ts) for e in gated]
    crossing = {e.rule: e for e in every}["crossing"]
    assert {e.rule: e for e in gated}["crossing"].start_ts == crossing.start_ts  # same frame
    dwell_every = {e.rule: e for e in every}["on_mat"]
    dwell_gated = {e.rule: e for e in gated}["on_mat"]
    assert abs(dwell_gated.start_ts - dwell_every.start_ts) <= 1.0 + 1e-6
    assert w_every.stats.motion_skipped == 0
    # the empty 3 s: only the start-up frame and its hold period ran the detector
    assert len([t for t in ran if t < 3.0]) <= 1 + 0.5 * FPS + 1, ran
    # standing still: once the background absorbed the person (~1.5 s), one detection a second instead of six
    standing = [t for t in ran if 7.5 <= t < 10.0]
    assert 2 <= len(standing) <= 4, ran
    assert w_gated.stats.motion_skipped == round(SECONDS * FPS) - len(ran)
