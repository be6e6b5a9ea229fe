"""Run a detector over a source with decoding and pre-processing overlapped on the capture thread."""

from __future__ import annotations

from collections.abc import Iterator

from edgekit.sources import LatestFrameReader, Source
from edgekit.types import Detections, Frame
from edgekit.vision.detector import Detector


def detect_stream(
    detector: Detector,
    source: Source,
    max_frames: int | None = None,
    drop: bool | None = None,
    background: bool = False,
) -> Iterator[tuple[Frame, Detections]]:
    """Yield (frame, detections) for each frame processed.

    Live sources drop stale frames (only the newest is processed); files are processed frame by frame. The capture
    thread decodes and letterboxes the next frame while the detector infers on this one.
    """
    reader = LatestFrameReader(source, drop=drop, prepare=lambda f: detector.preprocess(f.image),
                               background=background)
    try:
        n = 0
        while max_frames is None or n < max_frames:
            item = reader.get()
            if item is None:
                break
            frame, (tensor, info) = item
            yield frame, detector.detect_prepared(tensor, info)
            n += 1
    finally:
        reader.close()
