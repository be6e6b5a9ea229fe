"""Live sources: USB/V4L2 and RTSP through OpenCV, Jetson CSI through GStreamer, Raspberry Pi cameras through
picamera2. Each reconnects with exponential backoff when the camera drops out."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from edgekit.errors import MissingDependencyError
from edgekit.sources.base import SourceError
from edgekit.types import Frame

log = logging.getLogger(__name__)


def csi_pipeline(
    sensor_id: int = 0, width: int = 1280, height: int = 720, fps: int = 30, flip: int = 0
) -> str:
    """GStreamer pipeline string for a Jetson CSI camera (nvarguscamerasrc) ending in a BGR appsink.

    ``drop=true max-buffers=1`` on the appsink keeps only the newest frame, so a slow consumer never reads a stale one.
    """
    return (
        f"nvarguscamerasrc sensor-id={sensor_id} ! "
        f"video/x-raw(memory:NVMM),width={width},height={height},framerate={fps}/1,format=NV12 ! "
        f"nvvidconv flip-method={flip} ! video/x-raw,format=BGRx ! "
        "videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false"
    )


class Backoff:
    """Exponential backoff delays: ``initial``, doubling up to ``maximum``; ``reset()`` after a success."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.initial, self.maximum = initial, maximum
        self.delay = initial

    def next(self) -> float:
        d = self.delay
        self.delay = min(self.delay * 2, self.maximum)
        return d

    def reset(self) -> None:
        self.delay = self.initial


Reader = Callable[[], "np.ndarray[Any, Any] | None"]


class CaptureSource:
    """A camera or stream that may fail: reads frames, and on failure reopens with backoff until closed.

    ``opener`` returns a read function (``None`` from it means a failed read) and a release function; it raises
    ``SourceError`` when the device cannot be opened. The first open raises unless ``wait_for_first``.
    """

    live = True

    def __init__(
        self,
        source_id: str,
        opener: Callable[[], tuple[Reader, Callable[[], None]]],
        fps: float | None = None,
        wait_for_first: bool = False,
        backoff: Backoff | None = None,
        max_failed_reads: int = 5,
    ) -> None:
        self.id, self.fps = source_id, fps
        self._opener = opener
        self._backoff = backoff or Backoff()
        self._max_failed = max_failed_reads
        self._closed = threading.Event()
        self._seq = 0
        self._status = "ok"
        self.reconnects = 0
        self._read: Reader | None = None
        self._release: Callable[[], None] = lambda: None
        try:
            self._read, self._release = opener()
        except SourceError:
            if not wait_for_first:
                raise
            self._status = "reconnecting"

    def _reopen(self) -> bool:
        self._release()
        self._read = None
        self._status = "reconnecting"
        while not self._closed.is_set():
            delay = self._backoff.next()
            log.warning("source %s unavailable; retrying in %.1f s", self.id, delay)
            if self._closed.wait(delay):
                break
            try:
                self._read, self._release = self._opener()
            except SourceError as e:
                log.warning("source %s: %s", self.id, e)
                continue
            self.reconnects += 1
            self._status = "ok"
            log.info("source %s reconnected", self.id)
            return True
        return False

    def read(self) -> Frame | None:
        failures = 0
        while not self._closed.is_set():
            if self._read is None and not self._reopen():
                return None
            img = self._read() if self._read else None
            if img is not None:
                self._backoff.reset()
                frame = Frame(img, source_id=self.id, seq=self._seq)
                self._seq += 1
                return frame
            failures += 1
            if failures >= self._max_failed:
                log.warning("source %s stopped delivering frames", self.id)
                self._read = None
                failures = 0
        self._status = "ended"
        return None

    def close(self) -> None:
        self._closed.set()
        self._release()
        self._status = "ended"

    @property
    def status(self) -> str:
        return self._status


def _opencv_opener(target: int | str, api: int, what: str) -> Callable[[], tuple[Reader, Callable[[], None]]]:
    def open_() -> tuple[Reader, Callable[[], None]]:
        cap = cv2.VideoCapture(target, api)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {what}")

        def read() -> np.ndarray[Any, Any] | None:
            ok, img = cap.read()
            return img if ok else None

        return read, cap.release

    return open_


def open_usb(
    index: int, wait_for_first: bool = False, width: int | None = None, height: int | None = None
) -> CaptureSource:
    """A USB/V4L2 camera by index (``usb:0`` is ``/dev/video0``)."""
    base = _opencv_opener(index, cv2.CAP_V4L2 if os.name == "posix" else cv2.CAP_ANY, f"camera usb:{index}")

    def opener() -> tuple[Reader, Callable[[], None]]:
        if os.name == "posix" and not os.path.exists(f"/dev/video{index}"):
            raise SourceError(f"cannot open camera usb:{index}: /dev/video{index} does not exist")
        return base()

    del width, height  # kept for the profile's camera settings; OpenCV negotiates the default mode
    return CaptureSource(f"usb:{index}", opener, wait_for_first=wait_for_first)


def open_rtsp(url: str, wait_for_first: bool = False) -> CaptureSource:
    """An RTSP/HTTP stream through FFmpeg, over TCP (fewer smeared frames on lossy Wi-Fi than UDP)."""
    os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp|stimeout;5000000")
    return CaptureSource(
        url, _opencv_opener(url, cv2.CAP_FFMPEG, f"stream {url}"), wait_for_first=wait_for_first
    )


def gstreamer_available() -> bool:
    for line in cv2.getBuildInformation().splitlines():
        if "GStreamer" in line:
            return "YES" in line
    return False


def open_gstreamer(pipeline: str, source_id: str, wait_for_first: bool = False) -> CaptureSource:
    """Any GStreamer pipeline ending in an appsink (needs an OpenCV built with GStreamer)."""
    if not gstreamer_available():
        raise MissingDependencyError(
            "OpenCV with GStreamer",
            "PyPI's opencv-python wheels lack GStreamer; on a Jetson use JetPack's OpenCV "
            "(python3 -m venv --system-site-packages), elsewhere apt-get install python3-opencv",
        )
    return CaptureSource(
        source_id,
        _opencv_opener(pipeline, cv2.CAP_GSTREAMER, f"GStreamer pipeline {source_id}"),
        wait_for_first=wait_for_first,
    )


def open_picamera2(
    index: int, width: int = 1280, height: int = 720, wait_for_first: bool = False
) -> CaptureSource:
    """A Raspberry Pi camera through picamera2/libcamera (BGR frames)."""
    try:
        from picamera2 import Picamera2  # type: ignore[import-not-found]
    except ImportError as e:
        raise MissingDependencyError(
            "picamera2",
            "on Raspberry Pi OS: sudo apt install python3-picamera2, and a venv with --system-site-packages",
        ) from e

    def opener() -> tuple[Reader, Callable[[], None]]:
        try:
            cam = Picamera2(index)
            # libcamera's "RGB888" is B,G,R in memory, which is OpenCV's BGR.
            cam.configure(cam.create_video_configuration(main={"size": (width, height), "format": "RGB888"}))
            cam.start()
        except Exception as e:  # libcamera raises RuntimeError/IndexError for a missing camera
            raise SourceError(f"cannot open picamera2:{index}: {e}") from e

        def read() -> np.ndarray[Any, Any] | None:
            try:
                return np.ascontiguousarray(cam.capture_array("main")[:, :, :3])
            except Exception:  # a camera unplugged mid-stream; CaptureSource reopens it
                return None

        def release() -> None:
            cam.stop()
            cam.close()

        return read, release

    return CaptureSource(f"picamera2:{index}", opener, wait_for_first=wait_for_first)
