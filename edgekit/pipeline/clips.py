"""Event clips: a camera's frames are encoded once into short H.264 segments on disk (a rolling buffer), and each
event's MP4 is cut from them by remuxing packets (no second encode).

``ClipRecorder.add(image, t)`` is called by the camera thread and never blocks it: frames go through a bounded
queue to the recorder's own thread (a full queue drops the frame and counts it). Segments are MP4 files named by
their start time, one keyframe per second, kept ``buffer_s`` seconds. ``request(event_id, start_t, fire_t)``
returns the clip's path at once (it goes into the Event); the file appears once the post-roll has been recorded,
written atomically, from ``start_t - pre_s`` to ``fire_t + post_s`` (clamped to what the buffer still holds; the
start snaps back to the keyframe before it). Output: H.264 (yuv420p) in MP4 with the index first (``faststart``),
which browsers play.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.config.clips import ClipsConfig
from edgekit.errors import MissingDependencyError

log = logging.getLogger(__name__)

_MS = Fraction(1, 1000)


def _av() -> Any:
    try:
        import av
    except ImportError as e:
        raise MissingDependencyError("PyAV (event clips)", "pip install 'edgekit[daemon]'") from e
    return av


@dataclass(frozen=True)
class Segment:
    """One encoded segment: wall-clock start of its first frame and end of its last (s), and its file."""

    start: float
    end: float
    path: Path


@dataclass(frozen=True)
class Clip:
    """A finished clip: camera, event id, file, and the wall-clock span it covers (s)."""

    camera: str
    event_id: str
    path: Path
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class _Request:
    event_id: str
    start: float
    end: float
    path: Path


class ClipRecorder:
    """Rolling segment buffer and clip cutter of one camera; ``start()``, ``add()`` frames, ``close()``.

    ``on_clip`` is called (on the recorder thread) for every clip written.
    """

    def __init__(self, camera: str, cfg: ClipsConfig, folder: Path, fps: float = 15.0,
                 on_clip: Callable[[Clip], None] | None = None, queue_size: int = 8) -> None:
        self._av = _av()
        self.camera, self.cfg, self.on_clip = camera, cfg, on_clip
        self.folder = folder / camera
        self.seg_dir = self.folder / "segments"
        self.fps = min(fps, cfg.fps) if cfg.fps else fps
        self._min_dt = 1.0 / self.fps * 0.999
        self._q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=queue_size)
        self.dropped = 0
        self.encoded = 0
        self.segments: list[Segment] = []
        self._pending: list[_Request] = []
        self._out: Any = None
        self._stream: Any = None
        self._seg_start = 0.0
        self._seg_path: Path | None = None
        self._last_t = float("-inf")
        self._seg_end = 0.0
        self._size: tuple[int, int] | None = None
        self._lock = threading.Lock()  # guards `segments` for readers on other threads
        self._thread = threading.Thread(target=self._run, name=f"clips-{camera}", daemon=True)
        self.clips: collections.deque[Clip] = collections.deque(maxlen=100)  # the latest, for stats and tests

    # -- API (any thread) -------------------------------------------------------------------------------------
    def start(self) -> None:
        # Segments left by a previous run have no index any more: start the buffer empty.
        shutil.rmtree(self.seg_dir, ignore_errors=True)
        self.seg_dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def add(self, image: npt.NDArray[np.uint8], t: float) -> None:
        """Hand a frame (BGR, wall-clock time ``t``) to the encoder; drops it when the encoder is behind."""
        if t - self._last_t < self._min_dt:
            return  # above the clip frame rate: not encoded at all
        self._last_t = t
        try:
            self._q.put_nowait(("frame", (image, t)))
        except queue.Full:
            self.dropped += 1

    def request(self, event_id: str, start_t: float, fire_t: float) -> Path:
        """Ask for the clip of an event that started at ``start_t`` and fired at ``fire_t``; returns its path."""
        path = self.folder / f"{event_id}.mp4"
        req = _Request(event_id, min(start_t, fire_t) - self.cfg.pre_s, fire_t + self.cfg.post_s, path)
        self._q.put(("clip", req))  # blocking is fine: requests are rare and the queue drains fast
        return path

    def close(self, timeout: float = 10.0) -> None:
        """Finish the current segment, write the clips still waiting (with the post-roll there is), stop."""
        if self._thread.is_alive():
            self._q.put(("stop", None))
            self._thread.join(timeout)

    # -- the recorder thread ------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            kind, item = self._q.get()
            try:
                if kind == "frame":
                    self._encode(*item)
                elif kind == "clip":
                    self._pending.append(item)
                    self._serve(final=False)
                else:
                    self._close_segment()
                    self._serve(final=True)
                    return
            except Exception:
                log.exception("camera %s: clip recorder failed on a %s; continuing", self.camera, kind)
                self._abandon_segment()

    def _encode(self, image: npt.NDArray[np.uint8], t: float) -> None:
        if self._out is not None and t - self._seg_start >= self.cfg.segment_s:
            self._close_segment()
            self._prune(t)
            self._serve(final=False)
        if self._out is None:
            self._open_segment(image, t)
        w, h = self._size or (0, 0)
        small = image if image.shape[1] == w else cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(small), format="bgr24")
        frame.pts, frame.time_base = round((t - self._seg_start) * 1000), _MS
        for pkt in self._stream.encode(frame):
            self._out.mux(pkt)
        self.encoded += 1
        self._seg_end = t + 1.0 / self.fps

    def _open_segment(self, image: npt.NDArray[np.uint8], t: float) -> None:
        h0, w0 = image.shape[:2]
        w = min(self.cfg.width, w0) // 2 * 2  # yuv420p needs even sizes
        h = max(2, round(h0 * w / w0) // 2 * 2)
        self._size = (w, h)
        self._seg_start = t
        self._seg_path = self.seg_dir / f"{round(t * 1000)}.mp4"
        self._out = self._av.open(str(self._seg_path), "w")
        s = self._out.add_stream("libx264", rate=max(1, round(self.fps)), options={
            "preset": "ultrafast", "tune": "zerolatency", "crf": str(self.cfg.crf)})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.time_base = _MS
        s.codec_context.gop_size = max(1, round(self.fps))  # a keyframe a second: where a clip may start
        self._stream = s

    def _close_segment(self) -> None:
        if self._out is None or self._seg_path is None:
            return
        for pkt in self._stream.encode():
            self._out.mux(pkt)
        self._out.close()
        with self._lock:
            self.segments.append(Segment(self._seg_start, self._seg_end, self._seg_path))
        self._out, self._stream, self._seg_path = None, None, None

    def _abandon_segment(self) -> None:
        if self._out is not None:
            try:
                self._out.close()
            except Exception:
                log.debug("closing a failed segment", exc_info=True)
            if self._seg_path is not None:
                self._seg_path.unlink(missing_ok=True)
        self._out, self._stream, self._seg_path = None, None, None

    def _prune(self, now: float) -> None:
        with self._lock:
            old = [s for s in self.segments if s.end < now - self.cfg.buffer_s]
            self.segments = [s for s in self.segments if s not in old]
        for s in old:
            s.path.unlink(missing_ok=True)

    def _serve(self, final: bool) -> None:
        """Write every pending clip whose post-roll is in closed segments (all of them when ``final``)."""
        done_until = self.segments[-1].end if self.segments else float("-inf")
        left = []
        for req in self._pending:
            if final or req.end <= done_until:
                clip = self._cut(req)
                if clip is not None:
                    self.clips.append(clip)
                    if self.on_clip is not None:
                        self.on_clip(clip)
            else:
                left.append(req)
        self._pending = left

    def _cut(self, req: _Request) -> Clip | None:
        with self._lock:
            segs = [s for s in self.segments if s.end > req.start and s.start < req.end]
        if not segs:
            log.warning("camera %s: no video buffered for the clip of event %s", self.camera, req.event_id)
            return None
        req.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = req.path.with_suffix(".mp4.tmp")
        span = remux_segments(self._av, segs, req.start, req.end, tmp)
        if span is None:
            tmp.unlink(missing_ok=True)
            return None
        os.replace(tmp, req.path)
        return Clip(self.camera, req.event_id, req.path, *span)


def remux_segments(av: Any, segs: list[Segment], start: float, end: float, dest: Path) -> tuple[float, float] | None:
    """Copy the packets of ``segs`` between ``start`` (snapped back to a keyframe) and ``end`` into one MP4.

    Returns the wall-clock span written, or None when no packet fell in the window.
    """
    out = av.open(str(dest), "w", format="mp4", options={"movflags": "+faststart"})
    ostream = None
    t0: float | None = None
    t_last = 0.0
    try:
        for seg in segs:
            with av.open(str(seg.path)) as inp:
                istream = inp.streams.video[0]
                tb = istream.time_base
                pkts = [p for p in inp.demux(istream) if p.size and p.pts is not None]
                if t0 is None:
                    # start at the last keyframe at or before `start` (or the first one after it)
                    keys = [i for i, p in enumerate(pkts) if p.is_keyframe and seg.start + float(p.pts * tb) <= start]
                    first = keys[-1] if keys else next((i for i, p in enumerate(pkts) if p.is_keyframe), len(pkts))
                    pkts = pkts[first:]
                for p in pkts:
                    pt = seg.start + float(p.pts * tb)
                    if pt > end:
                        break
                    if ostream is None:
                        ostream = out.add_stream_from_template(istream)
                    if t0 is None:
                        t0 = pt
                    ticks = round((pt - t0) / tb)
                    p.pts = p.dts = ticks
                    p.stream = ostream
                    out.mux(p)
                    t_last = pt + float((p.duration or 0) * tb)
    finally:
        out.close()
    return None if t0 is None else (t0, t_last)
