"""One candidate's speed inside the real camera pipeline: the daemon's ``CameraWorker`` (capture thread, motion
gate, detection, ByteTrack and a zone rule) on a recorded video, every frame, timed after a warm-up.

Examples:
    >>> pipeline_fps([0.0, 0.5, 1.0, 1.5, 2.0], warmup=1)
    2.0
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from edgekit.config.cameras import CameraConfig
from edgekit.config.rules import RuleConfig
from edgekit.errors import EdgekitError
from edgekit.pipeline.camera import CameraWorker
from edgekit.sources import make_synthetic_video
from edgekit.tracking.rules import RuleEngine
from edgekit.vision.detector import Detector

ZONE = [[320, 0], [960, 0], [960, 720], [320, 720]]
"""The middle half of a 1280×720 frame: people walking across it fire the rule, as in ``benchmarks/daemon_bench``."""


def tune_video(folder: Path, frames: int, fps: float = 15.0) -> Path:
    """A 720p synthetic clip of ``frames`` frames (people walking through the zone), made once into ``folder``."""
    path = folder / f"tune-{frames}f.mp4"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".tune-{frames}f.{threading.get_ident()}.mp4"
        make_synthetic_video(tmp, seconds=frames / fps, fps=fps, seed=0)
        tmp.replace(path)
    return path


def pipeline_fps(done_s: list[float], warmup: int) -> float:
    """Frames per second after the first ``warmup`` frames, from each processed frame's completion time."""
    timed = done_s[warmup:]
    if len(timed) < 2:
        raise EdgekitError(f"only {len(done_s)} frames were processed; need more than {warmup + 1} to time them")
    return round((len(timed) - 1) / (timed[-1] - timed[0]), 3)


def measure_pipeline(detector: Detector, video: Path, warmup: int, stall_s: float = 600.0) -> dict[str, Any]:
    """Run ``detector`` in a camera worker over every frame of ``video``; FPS, stage times and events fired.

    The block is given up only when no frame was done for ``stall_s``: a hung runtime, not a slow CPU (an emulated
    board takes minutes a frame and is waited for).
    """
    cfg = CameraConfig.model_validate({"source": str(video), "on_end": "stop", "zones": {"mid": {"polygon": ZONE}}})
    rule = RuleConfig(name="in_zone", zone="mid", min_frames=1, cooldown_s=0)
    done: list[float] = []
    events: list[str] = []
    worker = CameraWorker("tune", cfg, detector, RuleEngine("tune", cfg, [rule], detector.labels),
                          lambda ev, *_: events.append(ev.id),
                          on_frame=lambda *_: done.append(time.perf_counter()))
    worker.start()
    try:
        seen, since = 0, time.monotonic()
        while worker.alive:
            worker.join(1.0)
            if len(done) != seen:
                seen, since = len(done), time.monotonic()
            elif time.monotonic() - since > stall_s:
                break
    finally:
        worker.stop()
        worker.join(10)
    return {
        "fps": pipeline_fps(done, warmup),
        "frames": len(done) - warmup,
        "dropped": worker.stats.dropped,
        "events": len(events),
        "stages_ms": {k: round(v, 2) for k, v in worker.stats.stage_ms().items()},
    }
