"""Is a camera processed often enough for its rules? A heuristic from how fast objects move and how big they are.

Two things go wrong when too few frames are processed:

* **Tracking breaks.** The tracker links boxes of consecutive processed frames by overlap. With its buffered
  matching (see ``Tracker``) a box may move up to ``MAX_STEP`` (0.7) of its own width between two processed frames.
  So a camera needs ``fps ≥ speed / (MAX_STEP × width)``, where ``speed / width`` is how many box widths per second
  objects move. Every track-based rule (zone, dwell, pose, line) needs this; line crossings need nothing more,
  since they are counted from the path between frames.
* **Zones are skipped.** An object crossing a zone of width ``W`` (the zone's narrowest width, a conservative choice
  since the direction of travel is unknown) at ``speed`` px/s is inside for ``W / speed`` seconds; a rule with
  ``min_frames = n`` needs ``n`` processed frames in that time: ``fps ≥ n × speed / W``.

Speeds and widths are measured on the camera's own tracks (the 90th percentile of recent samples, so the faster
objects count, not the average one) once ``MIN_SAMPLES`` are in; before that, a walking person is assumed: about one
body height per second (``DEFAULT_HEIGHTS_PER_S``), a body ``DEFAULT_HEIGHT_FRAC`` of the frame height tall and
``DEFAULT_WIDTH_PER_HEIGHT`` as wide as tall. Count rules (standing crowds) are not checked.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.config.rules import RuleConfig
from edgekit.types import Detections

log = logging.getLogger(__name__)

MAX_STEP = 0.7
MIN_SAMPLES = 20
DEFAULT_HEIGHTS_PER_S = 1.0
DEFAULT_HEIGHT_FRAC = 0.5
DEFAULT_WIDTH_PER_HEIGHT = 0.4


@dataclass(frozen=True)
class RateNeed:
    """The processing rate a rule needs, and why."""

    rule: str
    fps: float
    why: str


def min_width(polygon: npt.ArrayLike) -> float:
    """Narrowest width of a polygon (the short side of its minimum-area bounding rectangle), in pixels."""
    (_, _), (w, h), _ = cv2.minAreaRect(np.asarray(polygon, dtype=np.float32).reshape(-1, 2))
    return float(min(w, h))


class MotionSampler:
    """Recent per-track speeds (px/s of the bottom-centre anchor) and speed per box width, from tracked Detections."""

    def __init__(self, window: int = 500) -> None:
        self._last: dict[int, tuple[float, float, float]] = {}
        self._speed: deque[float] = deque(maxlen=window)
        self._widths_per_s: deque[float] = deque(maxlen=window)

    def update(self, dets: Detections, t: float) -> None:
        if dets.tracker_ids is None or len(dets) == 0:
            return
        seen = {}
        for (x1, _y1, x2, y2), tid in zip(dets.xyxy.tolist(), dets.tracker_ids.tolist(), strict=True):
            cx = (x1 + x2) / 2
            prev = self._last.get(int(tid))
            if prev is not None and t > prev[2]:
                v = float(np.hypot(cx - prev[0], y2 - prev[1])) / (t - prev[2])
                self._speed.append(v)
                self._widths_per_s.append(v / max(x2 - x1, 1.0))
            seen[int(tid)] = (cx, y2, t)
        self._last = seen  # only tracks of the previous processed frame: a gap is not a speed

    @property
    def samples(self) -> int:
        return len(self._speed)

    def speed(self, frame_height: int) -> float:
        """Typical fast speed in px/s."""
        if self.samples >= MIN_SAMPLES:
            return float(np.percentile(self._speed, 90))
        return DEFAULT_HEIGHTS_PER_S * DEFAULT_HEIGHT_FRAC * frame_height

    def widths_per_s(self) -> float:
        """Typical fast speed in box widths per second."""
        if self.samples >= MIN_SAMPLES:
            return float(np.percentile(self._widths_per_s, 90))
        return DEFAULT_HEIGHTS_PER_S / DEFAULT_WIDTH_PER_HEIGHT


def rate_needs(
    rules: Sequence[RuleConfig], zones: Mapping[str, npt.ArrayLike], motion: MotionSampler, frame_height: int
) -> list[RateNeed]:
    """The least processing rate each rule needs (see the module docstring)."""
    measured = "measured" if motion.samples >= MIN_SAMPLES else "assumed"
    track_fps = motion.widths_per_s() / MAX_STEP
    speed = motion.speed(frame_height)
    out = []
    for r in rules:
        if r.min_count:
            continue
        need = RateNeed(r.name, track_fps, f"objects move ~{motion.widths_per_s():.1f} box widths/s ({measured}); "
                        f"tracks hold up to {MAX_STEP:.0%} of a width per frame")
        if r.zone and r.zone in zones:
            w = min_width(zones[r.zone])
            zone_fps = r.min_frames * speed / max(w, 1.0)
            if zone_fps > need.fps:
                need = RateNeed(r.name, zone_fps, f"an object at ~{speed:.0f} px/s ({measured}) is in zone "
                                f"{r.zone!r} ({w:.0f} px wide) for {w / max(speed, 1e-6):.1f} s and the rule needs "
                                f"{r.min_frames} frames")
        out.append(need)
    return out


class RateCheck:
    """Every ``every_s`` of processing, one camera's processing rate against what its rules need; each rule that
    needs more is logged once as a warning and listed (one line each) until the rate recovers."""

    def __init__(self, camera: str, every_s: float = 10.0) -> None:
        self.camera, self.every_s = camera, every_s
        self.t0, self.frames = time.monotonic(), 0
        self.warned: set[str] = set()

    def restart(self) -> None:
        """Start a new measuring window (e.g. after the camera reconnected)."""
        self.t0, self.frames = time.monotonic(), 0

    def tick(
        self, needs: Callable[[int], list[RateNeed]], frame_height: int, media_fps: float | None = None
    ) -> list[str] | None:
        """Count one processed frame; every ``every_s`` returns the current warnings (else None). ``media_fps``: a
        file processed frame by frame, whose rules run on media time (its own frame rate is what counts)."""
        self.frames += 1
        dt = time.monotonic() - self.t0
        if dt < self.every_s:
            return None
        fps = media_fps or self.frames / dt
        self.t0, self.frames = time.monotonic(), 0
        return self.check(needs(frame_height), fps)

    def check(self, needs: list[RateNeed], fps: float) -> list[str]:
        """Warnings for the rules whose need exceeds ``fps`` (logged the first time for each rule)."""
        lines = []
        for need in needs:
            if fps >= need.fps:
                continue
            line = f"rule {need.rule!r} needs >= {need.fps:.1f} processed fps, camera runs {fps:.1f}: {need.why}"
            lines.append(line)
            if need.rule not in self.warned:
                self.warned.add(need.rule)
                log.warning("camera %s: %s. Process faster (smaller model input, fewer cameras on this board) or "
                            "give the rule more room (a wider zone, fewer min_frames)", self.camera, line)
        return lines
