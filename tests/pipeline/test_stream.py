"""detect_stream: what runs ahead on the capture thread changes nothing in what comes out."""

import os

import numpy as np
import pytest

from edgekit.pipeline.stream import detect_stream, overlap_for
from edgekit.sources import VideoSource, make_synthetic_video
from edgekit.vision.detector import Detector

CORES = len(os.sched_getaffinity(0))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory):
    return make_synthetic_video(tmp_path_factory.mktemp("stream") / "walk.mp4", seconds=1.0, fps=8)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.load("yolov8s-fall", "desktop", threads=CORES)


def test_every_overlap_gives_the_same_detections_for_every_frame(detector, clip):
    runs = {}
    for overlap in ("prepare", "decode", "none"):
        out = list(detect_stream(detector, VideoSource(clip), max_frames=5, overlap=overlap))
        runs[overlap] = [(f.seq, d.xyxy, d.scores, d.class_ids) for f, d in out]
    assert [r[0] for r in runs["none"]] == [0, 1, 2, 3, 4]
    assert sum(len(r[2]) for r in runs["none"]) > 0  # people walk through the clip
    for overlap in ("prepare", "decode"):
        for a, b in zip(runs["none"], runs[overlap], strict=True):
            assert a[0] == b[0] and all(np.array_equal(x, y) for x, y in zip(a[1:], b[1:], strict=True))


def test_inference_that_fills_the_cores_reads_files_in_line(detector, clip):
    assert detector.fills_cpu
    for realtime, want in ((False, "none"), (True, "decode")):
        # A live source still needs its capture thread to skip stale frames; only the kept frame is letterboxed.
        src = VideoSource(clip, realtime=realtime)
        assert overlap_for(detector, src) == want
        src.close()


@pytest.mark.skipif(CORES < 2, reason="needs a core that inference leaves free")
def test_inference_that_leaves_a_core_free_letterboxes_ahead(clip):
    det = Detector.load("yolov8s-fall", "desktop", threads=CORES - 1)
    assert not det.fills_cpu
    src = VideoSource(clip)
    assert overlap_for(det, src) == "prepare"
    src.close()
    assert len(list(detect_stream(det, VideoSource(clip), max_frames=2))) == 2
