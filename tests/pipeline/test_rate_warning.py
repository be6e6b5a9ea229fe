"""A camera processed too slowly for its line rule says so: in its stats and once in the log (real detector)."""

from __future__ import annotations

import logging

from edgekit.config.cameras import CameraConfig
from edgekit.config.rules import RuleConfig
from edgekit.pipeline.camera import CameraWorker
from edgekit.sources import make_synthetic_video
from edgekit.tracking.rules import RuleEngine
from edgekit.vision.detector import Detector
from tests.helpers import wait_until


def test_a_camera_too_slow_for_its_rules_is_warned(tmp_path, caplog):
    # 2 frames per second of media time: a walk needs ~3.6 processed fps to be tracked (assumed speeds)
    video = make_synthetic_video(tmp_path / "slow.mp4", seconds=3.0, fps=2.0, seed=4)
    cfg = CameraConfig(source=str(video), on_end="stop", lines={"gate": {"start": [640, 0], "end": [640, 720]}})
    det = Detector.load("yolov8s-fall")
    rules = [RuleConfig(name="entering", line="gate", direction="in")]
    w = CameraWorker("cam", cfg, det, RuleEngine("cam", cfg, rules, det.labels), lambda *a: None)
    w.rate_check_s = 0.0  # check at every frame instead of every 10 s
    with caplog.at_level(logging.WARNING, logger="edgekit.tracking.rate"):
        w.start()
        try:
            wait_until(lambda: w.finished, 300, what="the worker to reach the video's end")
        finally:
            det.close()
    assert len(w.stats.rate_warnings) == 1
    assert w.stats.rate_warnings[0].startswith("rule 'entering' needs >= 3.6 processed fps, camera runs 2.0")
    logged = [r.getMessage() for r in caplog.records if "camera cam:" in r.getMessage()]
    assert len(logged) == 1  # once, not once per frame


def test_a_max_fps_below_what_the_rules_need_is_warned_at_start(tmp_path, caplog):
    video = make_synthetic_video(tmp_path / "v.mp4", seconds=1.0, fps=5.0, seed=1)
    cfg = CameraConfig(source=str(video), on_end="stop", max_fps=1.0,
                       zones={"strip": {"polygon": [[600, 0], [640, 0], [640, 720], [600, 720]]}})
    det = Detector.load("yolov8s-fall")
    rules = [RuleConfig(name="loiter", zone="strip", min_frames=2)]
    w = CameraWorker("cam", cfg, det, RuleEngine("cam", cfg, rules, det.labels), lambda *a: None)
    with caplog.at_level(logging.WARNING, logger="edgekit.tracking.rate"):
        w.start()
        w.stop()
        w.join(timeout=60)
    det.close()
    logged = [r.getMessage() for r in caplog.records if "camera cam:" in r.getMessage()]
    assert len(logged) == 1 and "rule 'loiter' needs >= 18.0 processed fps, camera runs 1.0" in logged[0]
    assert "'strip' (40 px wide)" in logged[0]
