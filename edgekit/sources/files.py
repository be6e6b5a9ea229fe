"""Sources backed by files: one image, a folder of images, a video file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.sources.base import SourceError
from edgekit.types import Frame

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"}


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """Read an image as BGR, with a clear error for a missing or undecodable file."""
    if not path.is_file():
        raise SourceError(f"image not found: {path}")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise SourceError(f"cannot decode image {path} (corrupt or not an image)")
    return np.asarray(img, dtype=np.uint8)


class ImageSource:
    """Each image of a list, once (or forever with ``loop``)."""

    live = False
    fps: float | None = None

    def __init__(self, paths: list[Path], source_id: str, loop: bool = False) -> None:
        if not paths:
            raise SourceError(f"no images in {source_id}")
        self.paths, self.id, self.loop = paths, source_id, loop
        self._i = 0
        self._status = "ok"

    @classmethod
    def folder(cls, folder: Path, loop: bool = False) -> ImageSource:
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {folder}")
        return cls(paths, str(folder), loop)

    def read(self) -> Frame | None:
        if self._i >= len(self.paths):
            if not self.loop:
                self._status = "ended"
                return None
            self._i = 0
        path = self.paths[self._i]
        frame = Frame(read_image(path), source_id=str(path), seq=self._i)
        self._i += 1
        return frame

    def close(self) -> None:
        self._status = "ended"

    @property
    def status(self) -> str:
        return self._status


class VideoSource:
    """A video file decoded with OpenCV/FFmpeg; ``realtime`` paces reads at the file's frame rate like a camera."""

    def __init__(self, path: Path, loop: bool = False, realtime: bool = False) -> None:
        if not path.is_file():
            raise SourceError(f"video not found: {path}")
        self.path, self.id, self.loop, self.live = path, str(path), loop, realtime
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            raise SourceError(f"cannot open video {path} (corrupt or unsupported codec)")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._seq = 0
        self._t_next = time.monotonic()
        self._status = "ok"
        # FFmpeg aborts the process when a capture is released while another thread decodes from it: a capture
        # thread's read holds this lock, and close() defers the release to that thread when a read is in progress.
        self._io = threading.Lock()
        self._closed = False

    def read(self) -> Frame | None:
        with self._io:
            if self._closed:
                self._cap.release()
                return None
            frame = self._read()
            if self._closed:
                self._cap.release()
            return frame

    def _read(self) -> Frame | None:
        ok, img = self._cap.read()
        if not ok and self.loop and self._seq > 0:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, img = self._cap.read()
        if not ok:
            if self._seq == 0:
                raise SourceError(f"cannot decode any frame of {self.path}")
            self._status = "ended"
            return None
        if self.live:
            self._t_next += 1.0 / (self.fps or 30.0)
            delay = self._t_next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                self._t_next = time.monotonic()
        frame = Frame(np.asarray(img, dtype=np.uint8), source_id=self.id, seq=self._seq)
        self._seq += 1
        return frame

    def close(self) -> None:
        self._closed = True
        if self._io.acquire(blocking=False):
            try:
                self._cap.release()
            finally:
                self._io.release()
        self._status = "ended"

    @property
    def status(self) -> str:
        return self._status
