"""Run a detector over a source, with as much of each frame's work on the capture thread as pays off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from edgekit.sources import LatestFrameReader, Source
from edgekit.types import Detections, Frame
from edgekit.vision.detector import Detector

Overlap = Literal["prepare", "decode", "none"]


def overlap_for(detector: Detector, source: Source, drop: bool = False) -> Overlap:
    """What runs ahead on the capture thread: decoding and letterboxing, decoding only, or nothing.

    Where inference leaves cores free (an accelerator, or fewer CPU threads than cores) both run ahead and hide
    behind it. Where it fills the CPU, work ahead only competes with it, so files are read in line; a live source
    (or ``drop``) still needs its capture thread to skip stale frames, and letterboxes only the frame it keeps.
    """
    if not detector.fills_cpu:
        return "prepare"
    return "decode" if source.live or drop else "none"


def detect_stream(
    detector: Detector,
    source: Source,
    max_frames: int | None = None,
    drop: bool | None = None,
    background: bool = False,
    overlap: Overlap | None = None,
) -> Iterator[tuple[Frame, Detections]]:
    """Yield (frame, detections) for each frame processed.

    Live sources drop stale frames (only the newest is processed); files are processed frame by frame.
    ``overlap`` (default: ``overlap_for``) says what the capture thread does ahead of inference.
    """
    drop = source.live if drop is None else drop
    mode = overlap or overlap_for(detector, source, drop)
    n = 0
    if mode == "none" and not drop:  # a dropping source needs its capture thread, whatever was asked
        try:
            while (max_frames is None or n < max_frames) and (frame := source.read()) is not None:
                yield frame, detector.detect(frame.image)
                n += 1
        finally:
            source.close()
        return
    prepare = (lambda f: detector.preprocess(f.image)) if mode == "prepare" else None
    reader = LatestFrameReader(source, drop=drop, prepare=prepare, background=background)
    try:
        while max_frames is None or n < max_frames:
            item = reader.get()
            if item is None:
                break
            frame, prepared = item
            yield frame, detector.detect(frame.image) if prepared is None else detector.detect_prepared(*prepared)
            n += 1
    finally:
        reader.close()
