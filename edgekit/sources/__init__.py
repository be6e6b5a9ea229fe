"""Frame sources by URI: image, folder, video, ``synthetic[:seed[:period_s]]``, ``usb:N``, ``rtsp://…``, ``csi://N``,
``picamera2:N``, ``gst:PIPELINE``.

Examples:
    >>> src = open_source("synthetic:3")
    >>> src.read().image.shape
    (720, 1280, 3)
"""

from __future__ import annotations

from pathlib import Path

from edgekit.sources.base import Source, SourceError
from edgekit.sources.files import IMAGE_SUFFIXES, VIDEO_SUFFIXES, ImageSource, VideoSource
from edgekit.sources.latest import LatestFrameReader
from edgekit.sources.live import (
    CaptureSource,
    csi_pipeline,
    open_gstreamer,
    open_picamera2,
    open_rtsp,
    open_usb,
)
from edgekit.sources.synthetic import SyntheticScene, SyntheticSource, Walker, make_synthetic_video

__all__ = [
    "CaptureSource",
    "LatestFrameReader",
    "Source",
    "SourceError",
    "SyntheticScene",
    "SyntheticSource",
    "Walker",
    "csi_pipeline",
    "make_synthetic_video",
    "missing_file",
    "open_source",
]


def _index(uri: str, prefix: str) -> int:
    rest = uri[len(prefix) :] or "0"
    if not rest.isdigit():
        raise SourceError(f"bad source {uri!r}: expected {prefix}N with a camera number")
    return int(rest)


DEVICE_PREFIXES = ("synthetic", "usb:", "/dev/video", "rtsp://", "rtsps://", "http://", "https://", "csi://", "gst:",
                   "picamera2")


def missing_file(uri: str) -> str | None:
    """Why ``uri`` cannot work when it names a file or folder that is not there (None for devices, streams and
    files that exist): a config error to report at start-up, not a camera to retry forever."""
    if uri.startswith(DEVICE_PREFIXES) or Path(uri).exists():
        return None
    suffix = Path(uri).suffix.lower()
    kind = "image" if suffix in IMAGE_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else "source file"
    return f"{kind} {uri} not found"


def open_source(
    uri: str,
    *,
    loop: bool = False,
    realtime: bool = False,
    wait_for_first: bool = False,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    timeout_s: float = 10.0,
    pixel_format: str | None = None,
) -> Source:
    """Open a source by URI. ``realtime`` paces files and synthetic frames like a camera; ``wait_for_first``
    lets a camera that is absent at start-up be retried with backoff instead of failing. ``width``/``height``/``fps``
    ask a camera for a mode (USB: set through V4L2 and read back; CSI and picamera2 default to 1280×720@30), and
    ``pixel_format`` a USB camera for a V4L2 fourcc (MJPG, YUYV); ``timeout_s`` is how long a stream may send
    nothing before it is reopened."""
    if uri == "synthetic" or uri.startswith("synthetic:"):
        # synthetic[:SEED[:PERIOD]]: PERIOD seconds for the walkers to cross (slower walkers suit slow boards)
        seed, _, period = (uri.partition(":")[2] or "0").partition(":")
        if not seed.isdigit() or not (period or "8").replace(".", "", 1).isdigit() or float(period or 8) <= 0:
            raise SourceError(f"bad source {uri!r}: expected synthetic, synthetic:SEED or synthetic:SEED:PERIOD_S")
        scene = SyntheticScene.random(int(seed), period=float(period or 8))
        return SyntheticSource(scene, realtime=realtime, fps=15.0, source_id=uri)
    if uri.startswith(("usb:", "/dev/video")):
        index = _index(uri, "usb:" if uri.startswith("usb:") else "/dev/video")
        return open_usb(index, wait_for_first, width, height, fps, pixel_format)
    if uri.startswith(("rtsp://", "rtsps://", "http://", "https://")):
        return open_rtsp(uri, wait_for_first, timeout_s)
    if uri.startswith("csi://"):
        pipeline = csi_pipeline(_index(uri, "csi://"), width or 1280, height or 720, round(fps or 30))
        return open_gstreamer(pipeline, uri, wait_for_first)
    if uri.startswith("gst:"):
        return open_gstreamer(uri[4:], uri, wait_for_first)
    if uri.startswith("picamera2"):
        index = _index(uri, "picamera2:") if ":" in uri else 0
        return open_picamera2(index, width or 1280, height or 720, wait_for_first)
    path = Path(uri)
    if path.is_dir():
        return ImageSource.folder(path, loop)
    suffix = path.suffix.lower()
    if not path.exists():
        kind = "image" if suffix in IMAGE_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else "source"
        raise SourceError(f"{kind} not found: {path}")
    if suffix in IMAGE_SUFFIXES:
        return ImageSource([path], str(path), loop)
    if suffix in VIDEO_SUFFIXES:
        return VideoSource(path, loop=loop, realtime=realtime)
    raise SourceError(
        f"cannot tell what {path} is: use an image ({', '.join(sorted(IMAGE_SUFFIXES))}), a video "
        f"({', '.join(sorted(VIDEO_SUFFIXES))}), a folder, usb:N, rtsp://…, csi://N, picamera2:N or synthetic"
    )
