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


def test_two_streams_process_every_frame_in_order_with_the_same_events(tmp_path):
    """With two frames in inference at once (OpenVINO's streams) the worker tracks them in capture order, and a
    file gives the same frames, tracks and events as one frame at a time; the last frames in flight when the
    file ends are finished, not lost."""
    import pytest

    pytest.importorskip("openvino", reason="needs the [openvino] extra")
    from edgekit.backends import BackendOptions, open_backend
    from edgekit.config.rules import RuleConfig
    from edgekit.export.resize_head import resize_head
    from tests.helpers import DEFAULT_MODEL

    video = make_synthetic_video(tmp_path / "cam.mp4", seconds=2.0, fps=10.0, seed=2)
    model = resize_head(DEFAULT_MODEL, tmp_path / "m320.onnx", 320)
    cfg = CameraConfig.model_validate({"source": str(video), "on_end": "stop",
                                       "zones": {"all": {"polygon": [[0, 0], [1280, 0], [1280, 720], [0, 720]]}}})
    rule = RuleConfig(name="in", zone="all", min_frames=1, cooldown_s=0)
    def run(streams: int) -> tuple[list[tuple[int, tuple[int, ...]]], list[tuple[int, float]]]:
        det = Detector(open_backend(model, BackendOptions(threads=2, streams=streams), "openvino"),
                       ["Normal", "Fall"], conf=0.25, imgsz=320)
        assert det.streams == streams
        seen: list[tuple[int, tuple[int, ...]]] = []
        events: list[tuple[int, float]] = []
        w = CameraWorker("cam", cfg, det, RuleEngine("cam", cfg, [rule], det.labels),
                         lambda ev, frame, dets: events.append((int(ev.track_id or -1), ev.start_ts)),
                         on_frame=lambda frame, dets: seen.append((frame.seq, tuple(int(t) for t in dets.tracker_ids))))
        w.start()
        wait_until(lambda: w.finished, 300, what="the worker to reach the video's end")
        det.close()
        assert w.stats.processed == 20 and [s for s, _ in seen] == list(range(20)), seen
        # rule time is media time from the run's own start: compare each event's offset from the first
        return seen, [(tid, round(ts - events[0][1], 3)) for tid, ts in events]

    runs = {streams: run(streams) for streams in (1, 2)}
    assert runs[2] == runs[1] and runs[1][1], runs  # same tracks frame by frame, same events, and some events
