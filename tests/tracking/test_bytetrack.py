"""edgekit's ByteTrack against supervision's, side by side: the same track ids frame after frame. supervision (the
reference) is a test dependency only; the daemon no longer imports it."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from edgekit.tracking.tracker import Tracker
from edgekit.types import Detections

sv = pytest.importorskip("supervision", reason="supervision is the reference (pip install 'edgekit[dev]')")
if not hasattr(sv, "ByteTrack"):
    pytest.skip(f"supervision {sv.__version__} has no ByteTrack to compare with", allow_module_level=True)


class SupervisionTracker:
    """edgekit's Tracker as it was before the port: the same box buffering around supervision's ByteTrack."""

    def __init__(self, frame_rate: float, iou_buffer: float = 0.3, minimum_matching_threshold: float = 0.7) -> None:
        self.iou_buffer = iou_buffer
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.bt: Any = sv.ByteTrack(track_activation_threshold=0.25, lost_track_buffer=30,
                                        minimum_matching_threshold=minimum_matching_threshold,
                                        frame_rate=max(1, round(frame_rate)))

    def update(self, dets: Detections) -> tuple[list[int], list[int]]:
        xyxy = dets.xyxy.astype(np.float64).reshape(-1, 4)
        if self.iou_buffer > 0:
            pad = np.tile((xyxy[:, 2:] - xyxy[:, :2]) * self.iou_buffer, 2)
            xyxy = xyxy + pad * np.array([-1.0, -1.0, 1.0, 1.0])
        svd = sv.Detections(xyxy=xyxy, confidence=dets.scores, class_id=dets.class_ids,
                            data={"idx": np.arange(len(dets))})
        out = self.bt.update_with_detections(svd)
        if len(out) == 0:
            return [], []
        return [int(i) for i in out.data["idx"]], [int(i) for i in out.tracker_id]


def crowd(seed: int, frames: int = 200) -> list[Detections]:
    """People walking at random speeds, crossing, stopping, leaving and entering; missed detections, low-score
    detections (ByteTrack's second association), jitter, the odd false positive and a degenerate box."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 9))
    start = rng.integers(0, frames // 2, n)
    life = rng.integers(20, frames, n)
    pos = rng.uniform([0, 200], [1200, 500], (n, 2))
    vel = rng.normal(0, rng.uniform(2, 40), (n, 2)) * [1.0, 0.2]
    size = rng.uniform([40, 120], [120, 400], (n, 2))
    out = []
    for f in range(frames):
        boxes, scores = [], []
        for i in range(n):
            if not start[i] <= f < start[i] + life[i]:
                continue
            if rng.random() < 0.1:  # stops for a while
                vel[i] *= rng.choice([0.0, 1.0, -1.0])
            p = pos[i] + vel[i] * (f - start[i])
            if rng.random() < 0.12:  # missed
                continue
            jit = rng.normal(0, 3, 4)
            w, h = size[i]
            boxes.append(np.array([p[0] - w / 2, p[1] - h, p[0] + w / 2, p[1]]) + jit)
            scores.append(rng.choice([rng.uniform(0.5, 0.95), rng.uniform(0.12, 0.3)], p=[0.8, 0.2]))
        if rng.random() < 0.05:
            x, y = rng.uniform(0, 1200), rng.uniform(0, 700)
            boxes.append([x, y, x + rng.uniform(10, 80), y + rng.uniform(10, 80)])
            scores.append(rng.uniform(0.2, 0.6))
        if rng.random() < 0.02:
            boxes.append([500.0, 500.0, 500.0, 560.0])  # zero width: both trackers drop it
            scores.append(0.9)
        order = rng.permutation(len(boxes))
        out.append(Detections(np.asarray(boxes, np.float32).reshape(-1, 4)[order],
                              np.asarray(scores, np.float32)[order], np.zeros(len(boxes), np.int64)))
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("fps", "buffer", "match"), [(4.0, 0.3, 0.7), (15.0, 0.3, 0.7), (30.0, 0.0, 0.8)])
def test_same_tracks_as_supervision_frame_by_frame(seed, fps, buffer, match):
    ours = Tracker(frame_rate=fps, iou_buffer=buffer, minimum_matching_threshold=match)
    ref = SupervisionTracker(fps, iou_buffer=buffer, minimum_matching_threshold=match)
    tracked = 0
    for f, dets in enumerate(crowd(seed)):
        got = ours.update(dets)
        want_idx, want_ids = ref.update(dets)
        assert got.tracker_ids is not None
        assert got.tracker_ids.tolist() == want_ids, f"frame {f}"
        assert np.array_equal(got.xyxy, dets.xyxy[want_idx].reshape(-1, 4)), f"frame {f}"
        tracked += len(want_ids)
    assert tracked > 100  # the scenes do exercise the tracker
    ours.reset()
    ref.bt.reset()
    first = crowd(seed + 100, frames=30)
    assert [ours.update(d).tracker_ids.tolist() for d in first] == [ref.update(d)[1] for d in first]
