"""Live camera feeds for the dashboard: the camera thread hands over its newest frame, an encoder thread makes
JPEGs from it only while someone watches.

The camera's hook (:meth:`CameraFeed.offer`) only stores two references, so detection never waits for the
dashboard. One encoder thread per camera runs while the camera has viewers, at most ``fps`` times a second and
only when a new frame arrived; every viewer of a camera shares its JPEG. When the last viewer leaves, the thread
ends and the frame references are dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.config.cameras import CameraConfig
from edgekit.contract.jpeg import encode_jpeg
from edgekit.types import Detections, Frame
from edgekit.vision.draw import draw

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Overlay:
    """What is drawn on a camera's stream besides the detections: zone polygons and directed lines."""

    zones: dict[str, list[tuple[float, float]]]
    lines: dict[str, tuple[tuple[float, float], tuple[float, float]]]

    def draw(self, image: npt.NDArray[np.uint8], scale: float = 1.0) -> None:
        for name, poly in self.zones.items():
            pts = (np.asarray(poly, dtype=np.float64) * scale).round().astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(image, [pts], True, (0, 255, 255), 2)
            cv2.putText(image, name, tuple(pts[0, 0] + (4, 18)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
        for name, (a, b) in self.lines.items():
            p = (round(a[0] * scale), round(a[1] * scale))
            q = (round(b[0] * scale), round(b[1] * scale))
            cv2.arrowedLine(image, p, q, (255, 0, 255), 2, tipLength=0.03)
            cv2.putText(image, name, (p[0] + 4, p[1] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 0, 255), 2)


def camera_overlay(cam_cfg: CameraConfig) -> Overlay:
    """The zones and lines of a camera's config, as drawn on its stream."""
    zones = {name: [(float(x), float(y)) for x, y in z.polygon] for name, z in cam_cfg.zones.items()}
    lines = {name: ((float(ln.start[0]), float(ln.start[1])), (float(ln.end[0]), float(ln.end[1])))
             for name, ln in cam_cfg.lines.items()}
    return Overlay(zones, lines)


class CameraFeed:
    """The newest (frame, detections) of one camera and, while watched, its annotated JPEG."""

    def __init__(self, cam_id: str, labels: Sequence[str] = (), overlay: Overlay | None = None,
                 fps: float = 5.0, width: int = 640, quality: int = 70) -> None:
        self.cam_id, self.labels, self.overlay = cam_id, list(labels), overlay or Overlay({}, {})
        self.period, self.width, self.quality = 1.0 / fps, width, quality
        self._latest: tuple[Frame, Detections] | None = None
        self._cond = threading.Condition()
        self._viewers = 0
        self._thread: threading.Thread | None = None
        self.jpeg: bytes | None = None
        self.jpeg_seq = 0
        """Counts JPEGs made; a viewer sends a JPEG when this moved since its last one."""
        self.encoded = 0
        self.cpu_s = 0.0
        """CPU seconds the encoder thread spent drawing and encoding (what watching costs the board)."""
        self.closed = False
        """Set by :meth:`stop`: open streams end so the server can shut down at once."""

    def set_overlay(self, overlay: Overlay) -> None:
        """Draw ``overlay`` from the next frame on (the zone editor saved new shapes)."""
        self.overlay = overlay

    # camera thread -------------------------------------------------------------------------------------------
    def offer(self, frame: Frame, dets: Detections) -> None:
        """Keep the newest processed frame (two references, no copy) when someone watches."""
        if self._viewers:
            self._latest = (frame, dets)

    # viewers -------------------------------------------------------------------------------------------------
    @property
    def viewers(self) -> int:
        return self._viewers

    @property
    def latest(self) -> tuple[Frame, Detections] | None:
        """The newest processed frame and its detections (kept only while someone watches)."""
        return self._latest

    @property
    def encoding(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def join(self) -> None:
        with self._cond:
            self._viewers += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._encode_loop, name=f"mjpeg-{self.cam_id}", daemon=True)
                self._thread.start()

    def leave(self) -> None:
        with self._cond:
            self._viewers = max(0, self._viewers - 1)
            if self._viewers == 0:
                self._latest = None
                self._cond.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        """End the encoder whatever the viewers (daemon shutdown)."""
        with self._cond:
            self.closed = True
            self._viewers = 0
            self._latest = None
            self._cond.notify_all()
        t = self._thread
        if t is not None:
            t.join(timeout)

    # encoder thread ------------------------------------------------------------------------------------------
    def render(self, frame: Frame, dets: Detections) -> bytes:
        """The annotated, down-scaled JPEG of one frame (scaled first: drawing on the small image is cheaper)."""
        img = frame.image
        h, w = img.shape[:2]
        f = min(1.0, self.width / w)
        if f < 1.0:
            img = np.asarray(cv2.resize(img, (self.width, round(h * f)), interpolation=cv2.INTER_AREA),
                             dtype=np.uint8)
            kps = dets.keypoints * np.array([f, f, 1], np.float32) if dets.keypoints is not None else None
            dets = dets.with_(xyxy=dets.xyxy * f, keypoints=kps)
        out = draw(img, dets, self.labels)
        self.overlay.draw(out, f)
        return encode_jpeg(out, self.quality)

    def _encode_loop(self) -> None:
        last_seq: int | None = None
        due = time.monotonic()
        while True:
            with self._cond:
                if self._viewers == 0:
                    self.jpeg = None
                    return
                delay = due - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)  # woken early only when the last viewer leaves
                    continue
                item = self._latest
            due = time.monotonic() + self.period  # the cap holds however long encoding takes
            if item is None or item[0].seq == last_seq:
                continue
            t0 = time.thread_time()
            try:
                jpeg = self.render(*item)
            except Exception:  # a bad frame must not end the stream for every viewer
                log.exception("camera %s: stream frame failed", self.cam_id)
                continue
            finally:
                self.cpu_s += time.thread_time() - t0
            last_seq = item[0].seq
            self.jpeg, self.jpeg_seq, self.encoded = jpeg, self.jpeg_seq + 1, self.encoded + 1


class FrameHub:
    """All camera feeds of a daemon; ``hub.hook(cam_id)`` is what a camera worker calls with each frame."""

    def __init__(self, fps: float = 5.0, width: int = 640, quality: int = 70) -> None:
        self.fps, self.width, self.quality = fps, width, quality
        self.feeds: dict[str, CameraFeed] = {}

    def add(self, cam_id: str, labels: Sequence[str] = (), overlay: Overlay | None = None) -> CameraFeed:
        feed = CameraFeed(cam_id, labels, overlay, self.fps, self.width, self.quality)
        self.feeds[cam_id] = feed
        return feed

    def stop(self) -> None:
        for f in self.feeds.values():
            f.stop()
