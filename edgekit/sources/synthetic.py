"""A deterministic synthetic camera: people cut from real photos walking across a real background.

The ground-truth box of every person in every frame is known by construction, which makes it a test bed for
detection, tracking, zones and alert counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.types import Frame

ASSETS = Path(__file__).resolve().parents[1] / "assets"
N_SPRITES = 4


@cache
def _sprite(i: int) -> npt.NDArray[np.uint8]:
    img = cv2.imread(str(ASSETS / f"person_{i}.jpg"))
    if img is None:
        raise FileNotFoundError(ASSETS / f"person_{i}.jpg")
    return np.asarray(img, dtype=np.uint8)


@cache
def _background(width: int, height: int) -> npt.NDArray[np.uint8]:
    img = cv2.imread(str(ASSETS / "background.jpg"))
    if img is None:
        raise FileNotFoundError(ASSETS / "background.jpg")
    return np.asarray(cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


@dataclass(frozen=True)
class Walker:
    """One person crossing the scene: sprite, height in pixels, foot line y, and x positions at t0 and t1 (s)."""

    sprite: int
    height: int
    foot_y: int
    x0: float
    x1: float
    t0: float
    t1: float

    def box(self, t: float) -> tuple[int, int, int, int] | None:
        """Ground-truth box (x1, y1, x2, y2) at time ``t`` in scene pixels, or None when not in the scene."""
        if not self.t0 <= t <= self.t1:
            return None
        sp = _sprite(self.sprite)
        w = round(sp.shape[1] * self.height / sp.shape[0])
        cx = self.x0 + (self.x1 - self.x0) * (t - self.t0) / max(self.t1 - self.t0, 1e-6)
        x1 = round(cx - w / 2)
        return x1, self.foot_y - self.height, x1 + w, self.foot_y


class SyntheticScene:
    """Walkers on a background; ``render(t)`` returns the frame at time ``t`` and the boxes of visible people."""

    def __init__(self, walkers: list[Walker], width: int = 1280, height: int = 720) -> None:
        self.walkers, self.width, self.height = walkers, width, height

    @classmethod
    def random(
        cls, seed: int = 0, width: int = 1280, height: int = 720, people: int = 3, period: float = 8.0
    ) -> SyntheticScene:
        """``people`` walkers per ``period`` seconds, repeating, with seeded sprites, sizes, lanes and directions."""
        rng = np.random.default_rng(seed)
        walkers = []
        for k in range(people):
            h = int(rng.integers(int(height * 0.45), int(height * 0.8)))
            foot = int(rng.integers(h + 5, height - 5)) if h + 5 < height - 5 else height - 1
            left_to_right = bool(rng.integers(0, 2))
            xa, xb = -0.1 * width, 1.1 * width
            t0 = period * k / people
            dur = float(rng.uniform(0.6, 0.95)) * period
            walkers.append(
                Walker(
                    sprite=int(rng.integers(0, N_SPRITES)),
                    height=h,
                    foot_y=foot,
                    x0=xa if left_to_right else xb,
                    x1=xb if left_to_right else xa,
                    t0=t0,
                    t1=t0 + dur,
                )
            )
        return cls(walkers, width, height)

    @property
    def duration(self) -> float:
        return max((w.t1 for w in self.walkers), default=0.0)

    def render(self, t: float) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
        """The frame at ``t`` seconds (BGR) and the N×4 ground-truth boxes clipped to the frame."""
        frame = _background(self.width, self.height).copy()
        boxes = []
        for w in sorted(self.walkers, key=lambda w: w.foot_y):  # nearer people drawn last
            b = w.box(t)
            if b is None:
                continue
            x1, y1, x2, y2 = b
            sprite = cv2.resize(_sprite(w.sprite), (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)
            cx1, cy1 = max(x1, 0), max(y1, 0)
            cx2, cy2 = min(x2, self.width), min(y2, self.height)
            if cx2 - cx1 < 2 or cy2 - cy1 < 2:
                continue
            frame[cy1:cy2, cx1:cx2] = sprite[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1]
            boxes.append((cx1, cy1, cx2, cy2))
        return frame, np.asarray(boxes, np.float32).reshape(-1, 4)


class SyntheticSource:
    """Frames of a ``SyntheticScene`` at ``fps``; loops over the scene unless ``duration`` ends it.

    With ``realtime`` it paces frames like a camera (and is treated as live: frames may be dropped).
    """

    def __init__(
        self,
        scene: SyntheticScene | None = None,
        seed: int = 0,
        fps: float = 15.0,
        duration: float | None = None,
        realtime: bool = False,
        source_id: str | None = None,
    ) -> None:
        self.scene = scene or SyntheticScene.random(seed)
        self.fps, self.duration, self.live = fps, duration, realtime
        self.id = source_id or f"synthetic:{seed}"
        self._seq = 0
        self._t_start = time.monotonic()
        self._status = "ok"

    def read(self) -> Frame | None:
        t = self._seq / self.fps
        if self.duration is not None and t >= self.duration:
            self._status = "ended"
            return None
        if self.live:
            delay = self._t_start + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        period = self.scene.duration or 1.0
        image, _ = self.scene.render(t % period if self.duration is None or self.duration > period else t)
        frame = Frame(image, source_id=self.id, seq=self._seq)
        self._seq += 1
        return frame

    def close(self) -> None:
        self._status = "ended"

    @property
    def status(self) -> str:
        return self._status


def make_synthetic_video(
    path: str | Path,
    seconds: float = 8.0,
    fps: float = 15.0,
    seed: int = 0,
    scene: SyntheticScene | None = None,
) -> Path:
    """Write a deterministic MP4 of a synthetic scene (people from real photos walking across a real background)."""
    scene = scene or SyntheticScene.random(seed, period=seconds)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (scene.width, scene.height))
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}")
    try:
        for i in range(round(seconds * fps)):
            writer.write(scene.render(i / fps)[0])
    finally:
        writer.release()
    return path
