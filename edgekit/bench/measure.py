"""Timed measurement of a detector: raw backend, per-frame detect, and a decode → detect video pipeline."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

from edgekit.pipeline.stream import detect_stream
from edgekit.sources import VideoSource
from edgekit.timing import percentiles
from edgekit.vision.detector import Detector


@dataclass
class RssSampler:
    """Tracks this process's resident memory; ``peak_mb`` is the OS high-water mark since start."""

    def __post_init__(self) -> None:
        self._proc = psutil.Process()
        self.start_mb = self.current_mb()

    def current_mb(self) -> float:
        return round(self._proc.memory_info().rss / 2**20, 1)

    @staticmethod
    def peak_mb() -> float:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed_ms(fn: Callable[[], Any], warmup: int, runs: int) -> list[float]:
    """Call ``fn`` ``warmup`` times untimed, then ``runs`` times; the durations in ms."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def _samples(ms: list[float]) -> list[float]:
    """Raw durations for the JSON (plots draw CDFs from them), rounded to 10 µs."""
    return [round(float(v), 2) for v in ms]


def _fps(ms: list[float]) -> float:
    return round(1000.0 * len(ms) / sum(ms), 2) if ms else 0.0


def bench_raw(detector: Detector, image: npt.NDArray[np.uint8], warmup: int, runs: int) -> dict[str, Any]:
    """Backend ``infer`` alone on a pre-processed tensor: the ceiling for everything else."""
    tensor, _ = detector.preprocess(image)
    ms = timed_ms(lambda: detector.backend.infer([tensor]), warmup, runs)
    return {"latency_ms": percentiles(ms), "fps": _fps(ms), "samples_ms": _samples(ms)}


def bench_detect(detector: Detector, image: npt.NDArray[np.uint8], warmup: int, runs: int) -> dict[str, Any]:
    """``Detector.detect`` per frame (pre → infer → post), split by stage."""
    for _ in range(warmup):
        detector.detect(image)
    detector.timer.clear()
    ms = timed_ms(lambda: detector.detect(image), 0, runs)
    stages = ("pre", "infer", "post")
    return {
        "latency_ms": percentiles(ms),
        "fps": _fps(ms),
        "samples_ms": _samples(ms),
        "stages_ms": {k: percentiles(detector.timer.samples(k)) for k in stages},
        "stage_samples_ms": {k: _samples(detector.timer.samples(k)) for k in stages},
    }


def bench_pipeline(
    detector: Detector, video: Path, warmup: int, max_frames: int | None = None, background: bool = False
) -> dict[str, Any]:
    """Decode → detect over a video file, every frame, with decoding and pre-processing on the capture thread."""
    src = VideoSource(video)
    detector.timer.clear()
    n = 0
    t_start = 0.0
    done: list[float] = []
    for _frame, _dets in detect_stream(detector, src, max_frames=max_frames, drop=False, background=background):
        n += 1
        if n == warmup:
            detector.timer.clear()
            t_start = time.perf_counter()
        elif n > warmup:
            done.append(time.perf_counter() - t_start)
    if n <= warmup:
        raise ValueError(f"video {video} has {n} frames, fewer than the {warmup} warm-up frames")
    elapsed = time.perf_counter() - t_start
    timed = n - warmup
    return {
        "video": str(video),
        "frames": timed,
        "fps": round(timed / elapsed, 2),
        "frame_ms": round(1000 * elapsed / timed, 3),
        "stages_ms": {k: percentiles(detector.timer.samples(k)) for k in ("infer", "post")},
        "frame_done_s": [round(v, 4) for v in done],
    }
