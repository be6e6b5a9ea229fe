"""Top up a small INT8 calibration set with frames edgekit ships, never with a validation image.

Activation ranges taken from a handful of images fit those images: the calibration half of the shipped 7-photo set
(3 photos plus composites on one background) leaves the 640 model outside the gate. Below ``MIN_CALIBRATION``
frames the set is filled up with the synthetic camera's frames (people walking across a scene, the demo's own source)
and the demo's still frames (``edgekit/assets``), each skipped when its bytes match an image the gate judges.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edgekit.export.calib import IMAGE_SUFFIXES, read_image
from edgekit.sources.synthetic import ASSETS, SyntheticScene
from edgekit.vision.preprocess import letterbox

log = logging.getLogger(__name__)

MIN_CALIBRATION = 24
"""Fewer INT8 calibration frames than this are topped up. The default calibration half of the shipped set (3 photos
+ 24 composites) stays as it is; one with few composites (3 + 8) is filled up (see benchmarks/README.md)."""

PROVENANCE = (
    "the synthetic scene and the demo frames are made from people cut from bus.jpg and zidane.jpg on rocket.jpg "
    "(edgekit/assets/ATTRIBUTION.md): no judged frame is calibrated on, but when those photos are in the "
    "validation set, their people are seen by both"
)


@dataclass
class TopUp:
    """What was added: frames (N×3×S×S), their names, and how many came from each source."""

    tensors: npt.NDArray[np.float32]
    names: list[str] = field(default_factory=list)

    @property
    def sources(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.names:
            key = n.split("/", 1)[0]
            out[key] = out.get(key, 0) + 1
        return out


def file_digests(paths: list[Path]) -> set[str]:
    """sha256 of each file's bytes."""
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def demo_frames(avoid: set[str]) -> list[Path]:
    """The demo's still frames in ``edgekit/assets`` (not its validation set), minus those whose bytes are in
    ``avoid``."""
    files = sorted(p for p in ASSETS.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [p for p in files if hashlib.sha256(p.read_bytes()).hexdigest() not in avoid]


def top_up(need: int, imgsz: int, avoid: set[str], seed: int = 0) -> TopUp:
    """``need`` calibration frames at ``imgsz``: synthetic-scene frames with people in them (one per seeded scene, at a
    seeded time), then the demo's still frames, none whose bytes are in ``avoid``."""
    size = (imgsz, imgsz)
    stills = demo_frames(avoid)
    n_synth = max(need - len(stills), (need + 1) // 2)
    out: list[npt.NDArray[np.float32]] = []
    names: list[str] = []
    rng = np.random.default_rng(seed)
    k = 0
    while len(out) < n_synth and k < 4 * n_synth:  # a scene caught between walkers has nobody: try the next one
        scene = SyntheticScene.random(seed + k, width=int(rng.integers(640, 1281)), height=int(rng.integers(480, 721)))
        t = float(rng.uniform(0.1, 0.9)) * scene.duration
        frame, boxes = scene.render(t)
        k += 1
        if len(boxes):
            out.append(letterbox(frame, size)[0][0])
            names.append(f"synthetic/scene{seed + k - 1}@{t:.2f}s")
    for p in stills[: need - len(out)]:
        out.append(letterbox(read_image(p), size)[0][0])
        names.append(f"assets/{p.name}")
    log.info("calibration topped up with %d frames (%s)", len(out), ", ".join(names))
    empty = np.empty((0, 3, imgsz, imgsz), np.float32)
    return TopUp(np.stack(out) if out else empty, names)
