"""A camera worker honours ``max_fps`` and ``pose.labels``: real detector and video, frames counted."""

from __future__ import annotations

import numpy as np

from edgekit.config.cameras import CameraConfig
from edgekit.pipeline.camera import CameraWorker, estimate_pose
from edgekit.sources import make_synthetic_video
from edgekit.tracking.rules import RuleEngine
from edgekit.types import NUM_KEYPOINTS, Detections
from edgekit.vision.detector import Detector
from tests.helpers import wait_until


def test_max_fps_processes_at_most_that_rate_of_media_time(tmp_path):
    video = make_synthetic_video(tmp_path / "cam.mp4", seconds=3.0, fps=10.0, seed=4)
    cfg = CameraConfig(source=str(video), on_end="stop", max_fps=2.0)
    det = Detector.load("yolov8s-fall")
    w = CameraWorker("cam", cfg, det, RuleEngine("cam", cfg, [], det.labels), lambda *a: None)
    w.start()
    wait_until(lambda: w.finished, 300, what="the worker to reach the video's end")
    # 30 frames at 10 fps, one every 0.5 s of media time is processed: t = 0, 0.5, ..., 2.5
    assert (w.stats.captured, w.stats.processed, w.stats.dropped) == (30, 6, 24)
    det.close()


class _MarksEveryCrop:
    """Stands in for MediaPipe (another venv): gives every detection it is handed fully visible keypoints."""

    def __init__(self) -> None:
        self.handed: list[int] = []

    def estimate(self, image, dets: Detections) -> Detections:  # type: ignore[no-untyped-def]
        self.handed.append(len(dets))
        return dets.with_(keypoints=np.ones((len(dets), NUM_KEYPOINTS, 3), dtype=np.float32))


def test_pose_runs_only_on_the_configured_labels():
    dets = Detections([[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 4, 4]], [0.9, 0.8, 0.7], [0, 1, 0])
    pose = _MarksEveryCrop()
    out = estimate_pose(pose, np.zeros((32, 32, 3), np.uint8), dets, [1])  # type: ignore[arg-type]
    assert pose.handed == [1]
    assert out.keypoints is not None and out.keypoints[:, 0, 2].tolist() == [0.0, 1.0, 0.0]
    out = estimate_pose(pose, np.zeros((32, 32, 3), np.uint8), dets, None)  # type: ignore[arg-type]
    assert pose.handed[-1] == 3 and out.keypoints is not None and out.keypoints[:, 0, 2].tolist() == [1.0] * 3
