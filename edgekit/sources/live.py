"""Live sources: USB/V4L2 and RTSP through OpenCV, Jetson CSI through GStreamer, Raspberry Pi cameras through
picamera2. Each reconnects with exponential backoff when the camera drops out."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
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
        self._io = threading.Lock()  # held by the reading thread while it reads or reopens
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

    def _drop(self) -> None:
        """Release the open device once (OpenCV crashes when a capture is released while another thread reads it,
        so this only runs on the reading thread, or from ``close`` when no read is in progress)."""
        release, self._release, self._read = self._release, (lambda: None), None
        release()

    def _reopen(self) -> bool:
        self._drop()
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
        with self._io:
            frame = self._read_frame()
            if self._closed.is_set():
                self._drop()
            return frame

    def _read_frame(self) -> Frame | None:
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
        """Stop; the device is released now, or by the reading thread as soon as its current read returns."""
        self._closed.set()
        if self._io.acquire(blocking=False):
            try:
                self._drop()
            finally:
                self._io.release()
        self._status = "ended"

    @property
    def status(self) -> str:
        return self._status


def _opencv_opener(
    target: int | str, api: int, what: str, params: list[int] | None = None,
    configure: Callable[[cv2.VideoCapture], object] | None = None, stall_s: float | None = None,
) -> Callable[[], tuple[Reader, Callable[[], None]]]:
    """Opens ``target`` with OpenCV; ``configure`` runs on the open capture (e.g. to set the camera mode).

    With ``stall_s``, a read that took that long counts as failed even when OpenCV returns an image: after its read
    timeout FFmpeg's decoder hands out the frames it still holds, which are stale.
    """

    def open_() -> tuple[Reader, Callable[[], None]]:
        cap = cv2.VideoCapture(target, api, params or [])
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {what}")
        if configure is not None:
            configure(cap)

        def read() -> np.ndarray[Any, Any] | None:
            t0 = time.monotonic()
            ok, img = cap.read()
            if stall_s is not None and time.monotonic() - t0 >= stall_s:
                log.warning("%s stalled: no data for %.1f s", what, time.monotonic() - t0)
                return None
            return img if ok else None

        return read, cap.release

    return open_


def apply_capture_mode(
    cap: cv2.VideoCapture, what: str, width: int | None = None, height: int | None = None, fps: float | None = None,
    pixel_format: str | None = None,
) -> tuple[int, int, float]:
    """Ask a capture for a mode (V4L2 for USB cameras), read it back, log it, and warn when the camera gives
    another size or pixel format than asked (zones and lines are drawn in the pixels of the size asked for).

    Returns the (width, height, fps) the capture reports after the request.
    """
    if pixel_format:  # first: a camera's sizes and rates depend on the format (MJPG has more than YUYV)
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*pixel_format.ljust(4)))
    if width:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
    if height:
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
    if fps:
        cap.set(cv2.CAP_PROP_FPS, fps)
    got = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
           round(float(cap.get(cv2.CAP_PROP_FPS)), 2))
    got_format = fourcc_text(cap.get(cv2.CAP_PROP_FOURCC)).strip()
    asked = f"{width or '-'}x{height or '-'}@{fps or '-'}" + (f" {pixel_format}" if pixel_format else "")
    log.info("%s: asked for %s, the camera gives %dx%d@%s (%s)", what, asked, *got, got_format or "?")
    if pixel_format and got_format != pixel_format:
        log.warning("%s gives pixel format %r, not the %s asked for (v4l2-ctl --list-formats-ext lists its "
                    "formats)", what, got_format, pixel_format)
    if (width and got[0] != width) or (height and got[1] != height):
        log.warning("%s gives %dx%d, not the %sx%s asked for: zones and lines drawn for %sx%s will be off; "
                    "set the camera's width/height to a mode it supports (v4l2-ctl --list-formats-ext)",
                    what, got[0], got[1], width or got[0], height or got[1], width or got[0], height or got[1])
    if fps and got[2] > 0 and abs(got[2] - fps) > 0.5:
        log.warning("%s runs at %s fps, not the %s asked for", what, got[2], fps)
    return got


def fourcc_text(code: float) -> str:
    """OpenCV's ``CAP_PROP_FOURCC`` (a float) as its four characters, e.g. ``'YUYV'``."""
    n = int(code)
    return "".join(chr((n >> (8 * i)) & 0xFF) for i in range(4))


USB_RETRY_MAX_S = 5.0
"""Longest wait between looks for an unplugged USB camera."""


def open_usb(
    index: int, wait_for_first: bool = False, width: int | None = None, height: int | None = None,
    fps: float | None = None, pixel_format: str | None = None,
) -> CaptureSource:
    """A USB/V4L2 camera by index (``usb:0`` is ``/dev/video0``), in the given mode and pixel format when set (read
    back and logged)."""
    what = f"camera usb:{index}"
    base = _opencv_opener(index, cv2.CAP_V4L2 if os.name == "posix" else cv2.CAP_ANY, what,
                          configure=lambda cap: apply_capture_mode(cap, what, width, height, fps, pixel_format))

    def opener() -> tuple[Reader, Callable[[], None]]:
        if os.name == "posix" and not os.path.exists(f"/dev/video{index}"):
            raise SourceError(f"cannot open camera usb:{index}: /dev/video{index} does not exist")
        return base()

    # A local device node costs nothing to look for: retry every few seconds, so a replugged camera is back at
    # once (the 30 s ceiling is for network cameras, where each try is a connection).
    return CaptureSource(f"usb:{index}", opener, fps=fps, wait_for_first=wait_for_first,
                         backoff=Backoff(0.5, USB_RETRY_MAX_S))


_FFMPEG_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
_env_lock = threading.Lock()
_user_ffmpeg_options = os.environ.get(_FFMPEG_ENV)  # the user's own options win over ours


def avformat_version() -> tuple[int, int] | None:
    """(major, minor) of the libavformat OpenCV was built with, from its build information."""
    m = re.search(r"avformat:\s+YES \((\d+)\.(\d+)", cv2.getBuildInformation())
    return (int(m.group(1)), int(m.group(2))) if m else None


def rtsp_capture_options(timeout_s: float) -> str:
    """FFmpeg options for an RTSP client over TCP whose socket reads give up after ``timeout_s``.

    FFmpeg 5 (libavformat 59) renamed the RTSP socket timeout from ``stimeout`` to ``timeout`` (in µs); an unknown
    option is silently ignored, and before FFmpeg 5 ``timeout`` meant "listen for a connection", so the name follows
    the libavformat OpenCV carries.
    """
    ver = avformat_version()
    name = "timeout" if ver is None or ver[0] >= 59 else "stimeout"
    return f"rtsp_transport;tcp|{name};{round(timeout_s * 1e6)}"


def open_rtsp(
    url: str, wait_for_first: bool = False, timeout_s: float = 10.0, open_timeout_s: float | None = None
) -> CaptureSource:
    """An RTSP/HTTP stream through FFmpeg, over TCP (fewer smeared frames on lossy Wi-Fi than UDP).

    A server that accepts the connection and then stops sending is noticed after ``timeout_s``: OpenCV's read
    timeout (an interrupt callback, whatever the FFmpeg version) ends the read, it counts as failed and the stream is
    reopened with backoff (counted in ``reconnects``). Opening may take longer (a camera starts its encoder for each
    client): ``open_timeout_s``, by default ``max(timeout_s, 10)``, bounds it through OpenCV's open timeout and
    FFmpeg's own RTSP socket timeout, which also backs up the read timeout.
    """
    open_s = open_timeout_s if open_timeout_s is not None else max(timeout_s, 10.0)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, max(1, round(open_s * 1000)),
              cv2.CAP_PROP_READ_TIMEOUT_MSEC, max(1, round(timeout_s * 1000))]
    base = _opencv_opener(url, cv2.CAP_FFMPEG, f"stream {url}", params=params, stall_s=timeout_s * 0.9)

    def opener() -> tuple[Reader, Callable[[], None]]:
        # OpenCV reads the options from the environment when it opens: set them for this open only (a lock, since
        # cameras open on their own threads and may use different timeouts).
        with _env_lock:
            os.environ[_FFMPEG_ENV] = _user_ffmpeg_options or rtsp_capture_options(open_s)
            try:
                return base()
            finally:
                if _user_ffmpeg_options is None:
                    os.environ.pop(_FFMPEG_ENV, None)

    return CaptureSource(url, opener, wait_for_first=wait_for_first, max_failed_reads=1)


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
