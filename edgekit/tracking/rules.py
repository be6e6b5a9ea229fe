"""Rules: tracked Detections of one camera in, Events out.

A rule fires once per *episode*: the condition (label, score, zone, pose; or a line crossing; or a count) must hold
on ``min_frames`` frames and for ``dwell_s`` seconds, then one Event is raised; the same track (or, for a count
rule, the rule) can fire again only after the episode ended and ``cooldown_s`` has passed. Cameras miss detections:
an episode survives a gap of up to ``max_gap_frames`` processed frames or ``max_gap_s`` seconds without a match
(whichever allows more), and its dwell clock keeps running through the gap.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edgekit.config.daemon import CameraConfig, LineConfig, RuleConfig, ScheduleWindow, ZoneConfig
from edgekit.tracking.conditions import POSE_CONDITIONS
from edgekit.tracking.rate import MotionSampler, RateNeed, rate_needs
from edgekit.tracking.zones import Line, Zone
from edgekit.types import Detections, Event

log = logging.getLogger(__name__)

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FORGET_S = 120.0  # drop per-track state this long after a track was last seen: memory stays flat


def schedule_active(windows: Sequence[ScheduleWindow], when: dt.datetime) -> bool:
    """True when ``when`` (local time) falls in any window, or when there are no windows."""
    if not windows:
        return True
    day, hhmm = _DAY_NAMES[when.weekday()], when.strftime("%H:%M")
    prev_day = _DAY_NAMES[(when.weekday() - 1) % 7]
    for w in windows:
        if w.start <= w.end:
            if day in w.days and w.start <= hhmm <= w.end:
                return True
        elif (day in w.days and hhmm >= w.start) or (prev_day in w.days and hhmm <= w.end):
            return True  # window wraps past midnight: it belongs to the day it started on
    return False


@dataclass
class _Streak:
    first_ts: float
    frames: int = 0
    fired: bool = False
    last_seen: float = 0.0
    missed: int = 0  # processed frames since the last match


def _gap_ended(rule: RuleConfig, s: _Streak, t: float) -> bool:
    """True when a streak that did not match this frame has been without a match for too long."""
    s.missed += 1
    return s.missed > rule.max_gap_frames and t - s.last_seen > rule.max_gap_s


@dataclass
class _RuleState:
    tracks: dict[int, _Streak] = field(default_factory=dict)
    last_fire: dict[int, float] = field(default_factory=dict)
    rule_last_fire: float = float("-inf")
    count_streak: _Streak | None = None


class RuleEngine:
    """Evaluates the rules of one camera frame by frame.

    Examples:
        >>> from edgekit.config.daemon import CameraConfig, RuleConfig
        >>> cam = CameraConfig(source="synthetic", zones={"z": {"polygon": [[0, 0], [100, 0], [100, 100]]}})
        >>> eng = RuleEngine("cam", cam, [RuleConfig(name="r", zone="z", min_frames=2)], ["person"])
        >>> d = Detections([[40, 10, 60, 20]], [0.9], [0], tracker_ids=[7])
        >>> [len(eng.update(d, t)) for t in (0.0, 0.1, 0.2)]
        [0, 1, 0]
    """

    def __init__(
        self,
        camera_id: str,
        camera: CameraConfig,
        rules: Sequence[RuleConfig],
        labels: Sequence[str],
        device: str = "",
        now: Callable[[], dt.datetime] = dt.datetime.now,
        min_visibility: float = 0.5,
    ) -> None:
        self.camera_id, self.device, self.labels = camera_id, device, list(labels)
        self.min_visibility = min_visibility  # of the keypoints a pose condition reads (config: pose.min_visibility)
        self.rules = list(rules)
        self._geometry: tuple[dict[str, Zone], dict[str, Line]] = ({}, {})
        self.motion_mask: list[list[tuple[float, float]]] = list(camera.motion.mask)
        """The camera's motion mask (its worker's motion gate takes it up when ``geometry_version`` moves)."""
        self.geometry_version = 0
        self.set_geometry(camera.zones, camera.lines)
        self._state = {r.name: _RuleState() for r in self.rules}
        self._enabled = {r.name: True for r in self.rules}
        self._off_since: dict[str, tuple[float, str]] = {}
        self._now = now
        self._label_ids = {r.name: self._ids_of(r.labels) for r in self.rules}
        self.motion = MotionSampler()

    @property
    def zones(self) -> dict[str, Zone]:
        return self._geometry[0]

    @property
    def lines(self) -> dict[str, Line]:
        return self._geometry[1]

    def set_geometry(self, zones: Mapping[str, ZoneConfig], lines: Mapping[str, LineConfig],
                     motion_mask: Sequence[Sequence[tuple[float, float]]] | None = None) -> None:
        """Swap in new zones and lines (the dashboard's zone editor) while frames flow: one tuple is replaced, so
        :meth:`update` on the camera thread sees either the old pair or the new one, never a mix. A line drawn
        where it was keeps its tracks' last positions (a crossing in progress still counts). ``motion_mask``
        (given): the camera's new motion mask. ``geometry_version`` moves, so the camera's worker takes up the mask
        and the zones it counts."""
        if motion_mask is not None:
            self.motion_mask = [list(p) for p in motion_mask]
        old_lines = self._geometry[1]
        new_lines = {}
        for n, ln in lines.items():
            kept = old_lines.get(n)
            same = kept is not None and kept.start.tolist() == list(ln.start) and kept.end.tolist() == list(ln.end)
            new_lines[n] = kept if same and kept is not None else Line(n, ln.start, ln.end)
        self._geometry = ({n: Zone(n, z.polygon) for n, z in zones.items()}, new_lines)
        self.geometry_version += 1  # last: a worker that sees it move reads the new shapes

    def _ids_of(self, names: Sequence[str]) -> npt.NDArray[np.int64] | None:
        if not names:
            return None
        unknown = [n for n in names if n not in self.labels]
        if unknown:
            raise ValueError(f"unknown labels {unknown}; the model has {self.labels}")
        return np.array([self.labels.index(n) for n in names], dtype=np.int64)

    def set_enabled(self, rule: str, enabled: bool, *, retained: bool = False, by: str = "MQTT") -> bool:
        """Switch a rule on/off (an MQTT command); False when the rule is unknown.

        Every switch is logged. Switching off obeys the rule's ``remote_off``: a safety rule (a fall) ignores a
        retained OFF, which the broker would replay on every connect and restart, silently, forever.
        """
        cfg = next((r for r in self.rules if r.name == rule), None)
        if cfg is None:
            return False
        how = f"{by}, {'retained' if retained else 'live'} message"
        if not enabled and (cfg.off_switch == "never" or (cfg.off_switch == "live" and retained)):
            log.warning("camera %s: rule %s stays ON: refused an OFF (%s; rules[].remote_off is %s)",
                        self.camera_id, rule, how, cfg.off_switch)
            return True
        if self._enabled[rule] != enabled:
            log.warning("camera %s: rule %s switched %s (%s)", self.camera_id, rule, "ON" if enabled else "OFF", how)
        self._enabled[rule] = enabled
        if enabled:
            self._off_since.pop(rule, None)
        else:
            self._off_since.setdefault(rule, (time.time(), how))
        return True

    def is_enabled(self, rule: str) -> bool:
        return self._enabled.get(rule, False)

    def rules_off(self) -> list[str]:
        """The rules switched off over MQTT, one line each (stats, ``/healthz``, the dashboard)."""
        return [f"{rule} (off since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(ts))}, {how})"
                for rule, (ts, how) in sorted(self._off_since.items())]

    def rate_needs(self, frame_height: int) -> list[RateNeed]:
        """The least processing rate each rule needs, from the speeds and box sizes seen so far (``tracking.rate``)."""
        return rate_needs(self.rules, {n: z.polygon for n, z in self.zones.items()}, self.motion, frame_height)

    def beyond_frame(self, width: int, height: int) -> list[str]:
        """Zones and lines with points outside a ``width``×``height`` frame (drawn for another camera size)."""
        out = [f"zone {n!r}" for n, z in self.zones.items()
               if (z.polygon[:, 0].max() > width) or (z.polygon[:, 1].max() > height)]
        out += [f"line {n!r}" for n, ln in self.lines.items()
                if max(ln.start[0], ln.end[0]) > width or max(ln.start[1], ln.end[1]) > height]
        return out

    def label(self, class_id: int) -> str:
        return self.labels[class_id] if 0 <= class_id < len(self.labels) else str(class_id)

    def _mask(
        self, rule: RuleConfig, dets: Detections, inside: dict[str, npt.NDArray[np.bool_]]
    ) -> npt.NDArray[np.bool_]:
        m = dets.scores >= rule.min_score
        ids = self._label_ids[rule.name]
        if ids is not None:
            m &= np.isin(dets.class_ids, ids)
        if rule.zone:
            m &= inside[rule.zone]
        if rule.pose:
            m &= POSE_CONDITIONS[rule.pose](dets, self.min_visibility)
        return m

    def update(self, dets: Detections, t: float) -> list[Event]:
        """Feed one frame's tracked detections (``t`` = wall-clock capture time, s); returns new Events."""
        if dets.tracker_ids is None and len(dets):
            raise ValueError("RuleEngine needs tracked detections (tracker_ids)")
        self.motion.update(dets, t)
        zones, lines = self._geometry  # read once: the zone editor may swap it from another thread
        inside = {n: z.contains(dets) for n, z in zones.items()}
        crossed = {n: ln.cross(dets, t) for n, ln in lines.items()}
        active_time = self._now()
        events: list[Event] = []
        for rule in self.rules:
            st = self._state[rule.name]
            mask = self._mask(rule, dets, inside)
            on = self._enabled[rule.name] and schedule_active(rule.schedule, active_time)
            if rule.line:
                cin, cout = crossed[rule.line]
                hit = {"in": cin, "out": cout, "any": cin | cout}[rule.direction]
                events += self._fire_tracks(rule, st, dets, mask & hit, t, on, instant=True)
            elif rule.min_count:
                events += self._fire_count(rule, st, dets, mask, t, on)
            else:
                events += self._fire_tracks(rule, st, dets, mask, t, on, instant=False)
            self._forget(st, t)
        return events

    def _fire_tracks(
        self, rule: RuleConfig, st: _RuleState, dets: Detections, mask: npt.NDArray[np.bool_], t: float,
        on: bool, instant: bool,
    ) -> list[Event]:
        out: list[Event] = []
        tids = dets.tracker_ids if dets.tracker_ids is not None else np.zeros(0, np.int64)
        hit_ids = set()
        for i in np.flatnonzero(mask):
            tid = int(tids[i])
            hit_ids.add(tid)
            s = st.tracks.get(tid)
            if s is None:
                s = st.tracks[tid] = _Streak(first_ts=t)
            s.frames += 1
            s.last_seen, s.missed = t, 0
            ready = instant or (s.frames >= rule.min_frames and t - s.first_ts >= rule.dwell_s)
            cooled = t - st.last_fire.get(tid, float("-inf")) >= rule.cooldown_s
            if on and ready and not s.fired and cooled and t - st.rule_last_fire >= rule.rule_cooldown_s:
                s.fired = True
                st.last_fire[tid] = st.rule_last_fire = t
                out.append(self._event(rule, dets, int(i), s.first_ts if not instant else t, tid))
        for tid, s in list(st.tracks.items()):
            if tid not in hit_ids and (instant or _gap_ended(rule, s, t)):
                del st.tracks[tid]  # the episode ended: the next match starts a new streak
                if s.fired:
                    st.last_fire[tid] = max(st.last_fire.get(tid, t), s.last_seen)
        return out

    def _fire_count(
        self, rule: RuleConfig, st: _RuleState, dets: Detections, mask: npt.NDArray[np.bool_], t: float, on: bool
    ) -> list[Event]:
        n = int(mask.sum())
        if n < (rule.min_count or 1):
            if st.count_streak is not None and _gap_ended(rule, st.count_streak, t):
                st.count_streak = None
            return []
        s = st.count_streak = st.count_streak or _Streak(first_ts=t)
        s.frames += 1
        s.last_seen, s.missed = t, 0
        ready = s.frames >= rule.min_frames and t - s.first_ts >= rule.dwell_s
        gap = max(rule.cooldown_s, rule.rule_cooldown_s)
        if not (on and ready and not s.fired and t - st.rule_last_fire >= gap):
            return []
        s.fired = True
        st.rule_last_fire = t
        sel = dets[mask]
        box = (float(sel.xyxy[:, 0].min()), float(sel.xyxy[:, 1].min()),
               float(sel.xyxy[:, 2].max()), float(sel.xyxy[:, 3].max()))
        top = int(np.argmax(sel.scores))
        extra = {"count": n, "zone": rule.zone, "track_ids": [] if sel.tracker_ids is None else
                 [int(x) for x in sel.tracker_ids]}
        return [Event(rule=rule.name, source=self.camera_id, label=self.label(int(sel.class_ids[top])),
                      score=float(sel.scores.max()), box=box, start_ts=s.first_ts, device=self.device,
                      extra=extra)]

    def _event(self, rule: RuleConfig, dets: Detections, i: int, start_ts: float, tid: int) -> Event:
        extra: dict[str, object] = {}
        if rule.zone:
            extra["zone"] = rule.zone
        if rule.line:
            extra["line"], extra["direction"] = rule.line, rule.direction
        if rule.pose:
            extra["pose"] = rule.pose
        box = tuple(float(v) for v in dets.xyxy[i])
        return Event(rule=rule.name, source=self.camera_id, label=self.label(int(dets.class_ids[i])),
                     score=float(dets.scores[i]), box=box,  # type: ignore[arg-type]
                     start_ts=start_ts, track_id=tid, device=self.device, extra=extra)

    @staticmethod
    def _forget(st: _RuleState, t: float) -> None:
        if len(st.last_fire) > 64:
            for tid in [k for k, v in st.last_fire.items() if t - v > _FORGET_S]:
                del st.last_fire[tid]
