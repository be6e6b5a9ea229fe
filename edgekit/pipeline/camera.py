"""One camera's worker: LatestFrameReader → Detector → Tracker → (Pose) → Rules → Events, on its own thread.

A source that fails or ends is reopened with exponential backoff (``on_end: retry``) while the camera is reported
``down``; other cameras are unaffected. Live sources keep only the newest frame, so when inference is slower than
capture the stale frames are dropped (counted) and latency stays bounded by one frame plus one inference.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import PrivateAttr

from edgekit.backends.threads import pin_thread
from edgekit.config.cameras import CameraConfig
from edgekit.contract.stats import CameraCounters
from edgekit.errors import EdgekitError
from edgekit.pipeline.clips import Clip, ClipRecorder
from edgekit.pipeline.motion import MotionGate
from edgekit.pipeline.stream import overlap_for
from edgekit.sources import LatestFrameReader, Source, open_source
from edgekit.sources.live import Backoff
from edgekit.timing import StageTimer
from edgekit.tracking.counts import Counts, ZoneCounter, counted_labels
from edgekit.tracking.filters import ObjectFilter
from edgekit.tracking.rate import RateCheck
from edgekit.tracking.rules import RuleEngine
from edgekit.tracking.tracker import Tracker
from edgekit.types import NUM_KEYPOINTS, Detections, Event, Frame
from edgekit.vision.detector import Detector, Timed
from edgekit.vision.pose import PoseEstimator

log = logging.getLogger(__name__)

EventSink = Callable[[Event, Frame, Detections], None]
STAGES = ("motion", "pre", "infer", "post", "track", "pose", "rules")


class CameraStats(CameraCounters):
    """One camera's counters (the report's own type) and what only the worker needs; read by the stats loop
    (plain values: a torn read is harmless)."""

    status: str = "starting"
    """starting, ok, down, stopped or ended; the report says ok or down."""
    last_frame_mono: float = 0.0
    lag_frames: int = 0
    """Frames captured after the one being processed, when it started (0-1 when stale frames are dropped)."""
    _timer: StageTimer = PrivateAttr(default_factory=lambda: StageTimer(window=200))

    @property
    def timer(self) -> StageTimer:
        return self._timer

    def stage_ms(self) -> dict[str, float]:
        """Mean of the recent durations per stage (ms)."""
        out = {}
        for s in STAGES:
            xs = self.timer.samples(s)
            if xs:
                out[s] = round(sum(xs) / len(xs), 2)
        return out


def estimate_pose(pose: PoseEstimator, image: Any, dets: Detections, class_ids: list[int] | None) -> Detections:
    """Keypoints for the detections of ``class_ids`` only (all when None); the others get zero visibility."""
    if class_ids is None:
        return pose.estimate(image, dets)
    sel = np.isin(dets.class_ids, class_ids)
    kps = np.zeros((len(dets), NUM_KEYPOINTS, 3), dtype=np.float32)
    if sel.any():
        part = pose.estimate(image, dets[sel])
        if part.keypoints is not None:
            kps[sel] = part.keypoints
    return dets.with_(keypoints=kps)


@dataclass(frozen=True, slots=True)
class InFlight:
    """A frame whose inference has started: ``result`` waits for its detections and stage times."""

    frame: Frame
    t: float
    result: Callable[[], Timed]


class CameraWorker:
    """Runs one camera until ``stop()``; every fired Event goes to ``sink`` with its frame and detections."""

    rate_check_s = 10.0
    """How often the processing rate is checked against what the rules need (``edgekit.tracking.rate``)."""

    def __init__(self, cam_id: str, cfg: CameraConfig, detector: Detector, rules: RuleEngine, sink: EventSink,
                 pose: PoseEstimator | None = None, pose_class_ids: list[int] | None = None,
                 on_status: Callable[[str, bool], None] | None = None,
                 opener: Callable[[str], Source] | None = None, stall_s: float | None = None,
                 clips_folder: Path | None = None, on_counts: Callable[[str, Counts], None] | None = None,
                 on_clip: Callable[[Clip], None] | None = None,
                 on_frame: Callable[[Frame, Detections], None] | None = None,
                 affinity: tuple[int, ...] | None = None, capture_nice: int = 0) -> None:
        """``on_frame`` is called with every processed frame (the dashboard keeps a reference; it must not block).
        ``affinity``: the CPUs this camera's thread runs on (it takes part in the detector's inference);
        ``capture_nice``: niceness of its capture thread (``scheduling`` in the daemon config)."""
        self.cam_id, self.cfg, self.detector, self.rules = cam_id, cfg, detector, rules
        try:
            self.filters = ObjectFilter(cfg.objects, detector.labels)
        except ValueError as e:
            raise EdgekitError(f"camera {cam_id!r}: {e}") from None
        self.gate = MotionGate(cfg.motion)
        self._geometry_seen = rules.geometry_version
        counted = counted_labels(rules.rules, detector.labels)
        self.counter = ZoneCounter(rules.zones, detector.labels, counted) if rules.zones and counted and on_counts \
            else None
        self.on_counts, self.on_clip = on_counts, on_clip
        self._clips_folder = clips_folder if cfg.clips.enabled else None
        self.recorder: ClipRecorder | None = None
        self._last_dets = Detections.empty()
        self.sink, self.pose, self.on_status = sink, pose, on_status
        self._pose_ids = pose_class_ids
        self._opener = opener or (lambda uri: open_source(
            uri, realtime=cfg.realtime, wait_for_first=True, width=cfg.width, height=cfg.height, fps=cfg.fps,
            timeout_s=cfg.timeout_s, pixel_format=cfg.pixel_format))
        self.stats = CameraStats()
        self.stall_s = stall_s if stall_s is not None else cfg.timeout_s
        self._stop = threading.Event()
        self._up: bool | None = None
        self._thread = threading.Thread(target=self._run, name=f"camera-{cam_id}", daemon=True)
        self.tracker: Tracker | None = None
        self.heartbeat = time.monotonic()
        self._rate = RateCheck(cam_id, self.rate_check_s)
        self.on_frame = on_frame
        self._affinity, self._capture_nice = affinity, capture_nice

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._rate = RateCheck(self.cam_id, self.rate_check_s)
        if self.cfg.max_fps:  # a cap below what the rules need is known before the first frame
            self._rate.check(self.rules.rate_needs(self.cfg.height or 720), self.cfg.max_fps)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.ident is not None:  # close() after a failed start: never-started workers have nothing to join
            self._thread.join(timeout)

    @property
    def native_id(self) -> int | None:
        """The OS id of this camera's thread once started (what its affinity and niceness belong to)."""
        return self._thread.native_id

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """True when the camera stopped for good (``on_end: stop`` after the source ended)."""
        return self._thread.ident is not None and not self._thread.is_alive()

    def _set_up(self, up: bool, why: str = "") -> None:
        self.stats.status = "ok" if up else "down"
        if not up:
            self.stats.last_error = why
        if up != self._up:
            self._up = up
            if up:
                log.info("camera %s is up", self.cam_id)
            else:
                log.warning("camera %s is down: %s", self.cam_id, why)
            if self.on_status is not None:
                self.on_status(self.cam_id, up)

    # -- processing (also usable without the thread) ----------------------------------------------------------
    def process(self, frame: Frame, prepared: Any, t: float) -> list[Event]:
        """Run one frame through (clip buffer) → motion gate → detect → filter → track → pose → rules; returns
        the Events it fired (none on a frame the gate skips)."""
        job = self.begin(frame, prepared, t)
        return self.finish(job) if job is not None else []

    def begin(self, frame: Frame, prepared: Any, t: float) -> InFlight | None:
        """The first half of ``process``: clip buffer, motion gate, and the frame's inference started. ``None``
        when the gate skipped the frame (already shown with the last boxes)."""
        timer = self.stats.timer
        if self.rules.geometry_version != self._geometry_seen:  # the zone editor saved new shapes
            self._geometry_seen = self.rules.geometry_version
            self.gate.set_mask(self.rules.motion_mask)
            if self.counter is not None:
                self.counter.set_zones(self.rules.zones)
        if self.recorder is not None:
            self.recorder.add(frame.image, t)
        with timer.stage("motion"):
            run = self.gate.should_detect(frame.image, t)
        if not run:
            self.stats.motion_skipped += 1
            if self.on_frame is not None:
                self.on_frame(frame, self._last_dets)  # live views keep moving; boxes are the last detection's
            return None
        tensor, info = prepared if prepared is not None else self._prepare(frame)
        return InFlight(frame, t, self.detector.submit(tensor, info))

    def finish(self, job: InFlight) -> list[Event]:
        """The second half of ``process``: the frame's detections (waited for), then filter → track → pose →
        rules, events to the sink."""
        timer, frame, t = self.stats.timer, job.frame, job.t
        dets, ms = job.result()  # this camera's own times (the detector is shared)
        for s in ("infer", "post"):
            timer.add(s, ms[s])
        dets = self.filters.apply(dets, frame.shape)
        self.gate.detected(len(dets), t)
        assert self.tracker is not None  # created in _run before frames flow
        with timer.stage("track"):
            dets = self.tracker.update(dets)
        if self.pose is not None and len(dets):
            with timer.stage("pose"):
                dets = estimate_pose(self.pose, frame.image, dets, self._pose_ids)
        with timer.stage("rules"):
            events = self.rules.update(dets, t)
        if self.counter is not None and self.on_counts is not None and (counts := self.counter.update(dets)):
            self.on_counts(self.cam_id, counts)
        if self.recorder is not None:
            events = [replace(ev, clip=str(self.recorder.request(ev.id, ev.start_ts, t))) for ev in events]
        self._last_dets = dets
        if self.on_frame is not None:
            self.on_frame(frame, dets)
        for ev in events:
            self.stats.events += 1
            try:
                self.sink(ev, frame, dets)
            except Exception:
                log.exception("camera %s: handling event %s failed", self.cam_id, ev.id)
        return events

    def _prepare(self, frame: Frame) -> Any:
        t0 = time.perf_counter_ns()
        out = self.detector.preprocess(frame.image)
        self.stats.timer.add("pre", (time.perf_counter_ns() - t0) / 1e6)
        return out

    # -- the thread --------------------------------------------------------------------------------------------
    def _run(self) -> None:
        pin_thread(self._affinity)
        backoff = Backoff(initial=0.5, maximum=30.0)
        first = True
        while not self._stop.is_set():
            self.heartbeat = time.monotonic()
            if not first:
                self.stats.reconnects += 1  # counts reopen attempts
            first = False
            try:
                src = self._opener(self.cfg.source)
            except Exception as e:  # SourceError and whatever a driver raises: the camera is down, retry
                self._set_up(False, str(e))
                if self.cfg.on_end == "stop" or self._stop.wait(backoff.next()):
                    break
                continue
            ended_ok = self._consume(src, backoff)
            if self._stop.is_set():
                break
            if self.cfg.on_end == "stop":
                log.info("camera %s: source ended; stopping this camera (on_end: stop)", self.cam_id)
                break
            self._set_up(False, "source ended" if ended_ok else self.stats.last_error or "source failed")
            if self._stop.wait(backoff.next()):
                break
        self.stats.status = "stopped" if self._stop.is_set() else "ended"
        if self.recorder is not None:
            self.recorder.close()  # the clips still waiting get the post-roll there is
        if self._up and self.on_status is not None:
            self.on_status(self.cam_id, False)

    def _check_frame_size(self, frame: Frame) -> None:
        h, w = frame.image.shape[:2]
        beyond = self.rules.beyond_frame(w, h)
        if beyond:
            log.warning("camera %s gives %dx%d frames but %s reach beyond them: were they drawn for another size? "
                        "(set the camera's width/height, or redraw them)", self.cam_id, w, h, ", ".join(beyond))

    def _consume(self, src: Source, backoff: Backoff) -> bool:
        """Process frames until the source ends (True) or fails (False)."""
        fps = src.fps or 15.0
        self.tracker = Tracker(frame_rate=fps)
        if self._clips_folder is not None and self.recorder is None:
            self.recorder = ClipRecorder(self.cam_id, self.cfg.clips, self._clips_folder, fps=fps,
                                         on_clip=self.on_clip)
            self.recorder.start()
        # The capture thread letterboxes ahead where inference leaves a core free; the daemon keeps that thread
        # in any case (heartbeats, stall detection), so `overlap_for`'s "none" reads like "decode" here.
        ahead = overlap_for(self.detector, src) == "prepare"
        reader = LatestFrameReader(src, prepare=self._prepare if ahead else None, nice=self._capture_nice)
        wall0, mono0 = time.time(), time.monotonic_ns()
        base_captured, base_dropped = self.stats.captured, self.stats.dropped
        src_reconnects, first, rate = 0, True, self._rate
        rate.restart()
        skipped = 0  # frames left out to keep to max_fps (counted as dropped)
        next_t = float("-inf")
        # Frames in inference, oldest first: with several streams the next frame starts before the last is tracked
        in_flight: deque[InFlight] = deque()
        media_fps = None if src.live or not src.fps else min(src.fps, self.cfg.max_fps or src.fps)

        def counted(frame: Frame) -> None:  # a frame handled: detected, or skipped by the motion gate
            self.stats.processed += 1
            lines = rate.tick(self.rules.rate_needs, frame.image.shape[0], media_fps)
            if lines is not None:
                self.stats.rate_warnings = lines

        def done(job: InFlight) -> None:
            self.finish(job)
            counted(job.frame)

        try:
            while not self._stop.is_set():
                self.heartbeat = time.monotonic()
                try:
                    item = reader.get(timeout=0.5)
                except Exception as e:
                    self.stats.last_error = f"{type(e).__name__}: {e}"
                    log.warning("camera %s: source failed: %s", self.cam_id, self.stats.last_error)
                    return False
                self.stats.captured = base_captured + reader.captured
                self.stats.dropped = base_dropped + reader.dropped + skipped
                n = int(getattr(src, "reconnects", 0))  # a stream that reopened itself (RTSP, USB) counts too
                self.stats.reconnects += n - src_reconnects
                src_reconnects = n
                if item is None:
                    if reader.ended:
                        return reader.error is None
                    if getattr(src, "status", "ok") == "reconnecting" or (
                        self.stats.last_frame_mono and time.monotonic() - self.stats.last_frame_mono > self.stall_s
                    ):
                        self._set_up(False, "no frames (reconnecting)")
                    continue
                frame, prepared = item
                if first:
                    first = False
                    self._check_frame_size(frame)
                self.stats.lag_frames = max(0, reader.captured - 1 - frame.seq) if frame.seq < reader.captured else 0
                self.stats.max_lag_frames = max(self.stats.max_lag_frames, self.stats.lag_frames)
                self.stats.last_frame_mono = time.monotonic()
                self._set_up(True)
                backoff.reset()
                # Rule time: the wall clock of capture for live sources; media time for files, so dwell and
                # cooldown mean video seconds however fast the file is processed.
                if src.live or not src.fps:
                    t = wall0 + (frame.t_capture_ns - mono0) / 1e9
                else:
                    t = wall0 + frame.seq / src.fps
                if self.cfg.max_fps is not None:
                    if t < next_t - 1e-6:
                        skipped += 1
                        continue
                    # the next slot follows this frame's time (not the last slot): a slow frame never makes
                    # the camera catch up with a burst
                    next_t = t + 1.0 / self.cfg.max_fps
                job = self.begin(frame, prepared, t)
                if job is None:  # skipped by the motion gate: what is in flight is older, so it is done first
                    while in_flight:
                        done(in_flight.popleft())
                    counted(frame)
                    continue
                in_flight.append(job)
                if len(in_flight) >= self.detector.streams:  # one stream: at once; more: the oldest frame
                    done(in_flight.popleft())
            return True
        finally:
            try:
                while in_flight:  # a source that ended or a stop: the frames already in inference still count
                    done(in_flight.popleft())
            finally:
                reader.close()
            self.stats.captured = base_captured + reader.captured
            self.stats.dropped = base_dropped + reader.dropped + skipped
