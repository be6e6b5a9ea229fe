"""Rules on real Zone/Line/ByteTrack objects, with detections built frame by frame (tables, no mocks)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from edgekit.config.daemon import CameraConfig, RuleConfig, ScheduleWindow
from edgekit.tracking.rules import RuleEngine, schedule_active
from edgekit.types import Detections
from tests.tracking.test_conditions import posed

LABELS = ["Normal", "Fall"]
CAM = CameraConfig(
    source="synthetic",
    zones={"mid": {"polygon": [[400, 0], [800, 0], [800, 720], [400, 720]]}},
    lines={"gate": {"start": [600, 0], "end": [600, 720]}},
)


def walker(x: float, tid: int, cls: int = 0, score: float = 0.9, y2: float = 600) -> tuple:
    return (x - 40, y2 - 300, x + 40, y2, score, cls, tid)


def dets(rows: list[tuple]) -> Detections:
    if not rows:
        return Detections.empty().with_(tracker_ids=np.zeros(0, np.int64))
    a = np.array(rows, dtype=np.float64)
    return Detections(a[:, :4], a[:, 4], a[:, 5].astype(int), tracker_ids=a[:, 6].astype(int))


def run(rule: RuleConfig, frames: list[list[tuple]], fps: float = 10.0) -> list:
    eng = RuleEngine("cam", CAM, [rule], LABELS)
    out = []
    for i, rows in enumerate(frames):
        out += eng.update(dets(rows), 1000.0 + i / fps)
    return out


def walk(tid: int, x0: float, x1: float, n: int, **kw: object) -> list[tuple]:
    return [walker(x, tid, **kw) for x in np.linspace(x0, x1, n)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "frames", "expected"),
    [
        # one person crossing the zone: one event, not one per frame
        (RuleConfig(name="r", zone="mid", min_frames=3), [[w] for w in walk(1, 100, 1100, 40)], [1]),
        # two people, two tracks → two events
        (RuleConfig(name="r", zone="mid"), [[a, b] for a, b in zip(walk(1, 100, 1100, 40), walk(2, 1100, 100, 40),
                                                                     strict=True)], [1, 2]),
        # too few frames in the zone
        (RuleConfig(name="r", zone="mid", min_frames=50), [[w] for w in walk(1, 100, 1100, 40)], []),
        # dwell 2 s at 10 fps: a person standing in the zone for 3 s fires once
        (RuleConfig(name="r", zone="mid", dwell_s=2.0), [[walker(600, 5)]] * 30, [5]),
        (RuleConfig(name="r", zone="mid", dwell_s=5.0), [[walker(600, 5)]] * 30, []),
        # label filter and score threshold
        (RuleConfig(name="r", labels=["Fall"]), [[walker(600, 1, cls=0)]] * 5, []),
        (RuleConfig(name="r", labels=["Fall"]), [[walker(600, 1, cls=1)]] * 5, [1]),
        (RuleConfig(name="r", min_score=0.95), [[walker(600, 1, score=0.9)]] * 5, []),
        # line crossing is direction-aware: left → right on a top → bottom line is "in"
        (RuleConfig(name="r", line="gate", direction="in"), [[w] for w in walk(1, 100, 1100, 20)], [1]),
        (RuleConfig(name="r", line="gate", direction="out"), [[w] for w in walk(1, 100, 1100, 20)], []),
        (RuleConfig(name="r", line="gate", direction="out"), [[w] for w in walk(3, 1100, 100, 20)], [3]),
    ],
)
def test_rule_table(rule, frames, expected):
    assert [e.track_id for e in run(rule, frames)] == expected


def test_cooldown_per_track_and_reentry():
    rule = RuleConfig(name="r", zone="mid", cooldown_s=5.0)
    inside, outside = [walker(600, 1)], [walker(100, 1)]
    # in, out 1 s, in again (within cooldown: no event), out 6 s, in again (after cooldown: event)
    frames = [inside] * 10 + [outside] * 10 + [inside] * 10 + [outside] * 60 + [inside] * 10
    assert len(run(rule, frames)) == 2


def test_count_rule_fires_once_per_episode():
    rule = RuleConfig(name="crowd", zone="mid", min_count=3, min_frames=2, cooldown_s=0)
    three = [walker(500, 1), walker(600, 2), walker(700, 3)]
    frames = [three[:2]] * 5 + [three] * 10 + [three[:2]] * 5 + [three] * 10
    evs = run(rule, frames)
    assert len(evs) == 2
    assert evs[0].extra["count"] == 3 and evs[0].track_id is None


def test_schedule_windows():
    w = [ScheduleWindow(days=["mon"], start="22:00", end="06:00")]
    mon_23 = dt.datetime(2024, 1, 1, 23, 0)  # a Monday
    assert schedule_active(w, mon_23)
    assert schedule_active(w, mon_23 + dt.timedelta(hours=4))  # Tuesday 03:00 belongs to Monday's window
    assert not schedule_active(w, mon_23 + dt.timedelta(hours=12))
    assert schedule_active([], mon_23)
    rule = RuleConfig(name="r", schedule=[{"days": ["sun"], "start": "00:00", "end": "23:59"}])
    eng = RuleEngine("cam", CAM, [rule], LABELS, now=lambda: mon_23)
    assert sum(len(eng.update(dets([walker(600, 1)]), 1000 + i)) for i in range(5)) == 0


def test_disabled_rule_does_not_fire():
    eng = RuleEngine("cam", CAM, [RuleConfig(name="r")], LABELS)
    assert eng.set_enabled("r", False) and not eng.set_enabled("nope", False)
    assert eng.update(dets([walker(600, 1)]), 0.0) == []


def test_unknown_label_is_rejected():
    with pytest.raises(ValueError, match="unknown labels"):
        RuleEngine("cam", CAM, [RuleConfig(name="r", labels=["person"])], LABELS)


@pytest.mark.parametrize(("gap", "fired_at"), [(0, 5), (2, 3)])
def test_pose_fall_rule_needs_n_frames(gap, fired_at):
    # with no gap allowed, one upright frame restarts the count; with the default 2 it is a missed frame
    rule = RuleConfig(name="fall", pose="fall", min_frames=3, max_gap_frames=gap)
    eng = RuleEngine("cam", CAM, [rule], LABELS)
    lying = posed((100, 300), (300, 320))
    upright = posed((100, 100), (100, 300))
    seq = [lying, lying, upright, lying, lying, lying, lying]
    fired = [len(eng.update(d, float(i))) for i, d in enumerate(seq)]
    assert fired == [int(i == fired_at) for i in range(len(seq))]


def flicker(every: int, n: int = 40, tid: int = 5) -> list[list[tuple]]:
    """A person standing in the zone whose detection is missed on every ``every``-th frame."""
    return [[] if i % every == every - 1 else [walker(600, tid)] for i in range(n)]


def gap(frames_before: int, missed: int, frames_after: int) -> list[list[tuple]]:
    return [[walker(600, 5)]] * frames_before + [[]] * missed + [[walker(600, 5)]] * frames_after


@pytest.mark.parametrize(
    ("rule", "frames", "expected"),
    [
        # dwell 2 s at 10 fps with a missed detection every 3rd frame: fires by default, not when no gap is allowed
        (RuleConfig(name="r", zone="mid", dwell_s=2.0), flicker(3), [5]),
        (RuleConfig(name="r", zone="mid", dwell_s=2.0, max_gap_frames=0), flicker(3), []),
        # two missed frames in a row are tolerated, three are not (the dwell clock restarts)
        (RuleConfig(name="r", zone="mid", dwell_s=2.0), gap(12, 2, 10), [5]),
        (RuleConfig(name="r", zone="mid", dwell_s=2.0), gap(12, 3, 10), []),
        # a gap in seconds: 0.8 s without a match survives max_gap_s=1, 1.5 s does not
        (RuleConfig(name="r", zone="mid", dwell_s=2.0, max_gap_frames=0, max_gap_s=1.0), gap(12, 7, 10), [5]),
        (RuleConfig(name="r", zone="mid", dwell_s=2.0, max_gap_frames=0, max_gap_s=1.0), gap(12, 14, 10), []),
        # one episode with a gap inside fires once, not once per part
        (RuleConfig(name="r", zone="mid", cooldown_s=0), gap(5, 2, 5), [5]),
        (RuleConfig(name="r", zone="mid", cooldown_s=0), gap(5, 3, 5), [5, 5]),
    ],
)
def test_missed_detections_table(rule, frames, expected):
    assert [e.track_id for e in run(rule, frames)] == expected


def test_count_rule_survives_a_missed_detection():
    rule = RuleConfig(name="crowd", zone="mid", min_count=3, dwell_s=1.0, cooldown_s=0)
    three = [walker(500, 1), walker(600, 2), walker(700, 3)]
    frames = [three, three, three[:2]] * 6  # one of the three is missed on every third frame
    assert len(run(rule, frames)) == 1
    assert run(rule.model_copy(update={"max_gap_frames": 0}), frames) == []


def at(x: float, y: float, tid: int = 1) -> tuple:
    """A detection whose bottom-centre anchor is at (x, y)."""
    return (x - 40, y - 300, x + 40, y, 0.9, 0, tid)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # two samples, one each side of the gate: the segment between them crosses it (a camera at ~1 fps)
        ([(100, 300), (1100, 300)], "in"),
        ([(1100, 300), (100, 300)], "out"),
        # a sample exactly on the line is on neither side: counted once, when the track leaves it
        ([(500, 300), (600, 300), (700, 300)], "in"),
        ([(500, 300), (600, 300), (500, 300)], None),
        # both samples beyond the ends of a short line (y 200..500), the path between them through it
        ([(500, 150), (700, 550)], "in"),
        # the path passes beside the line, beyond its end
        ([(500, 100), (700, 150)], None),
        # a missed detection: the track's last position before the gap counts
        ([(500, 300), None, None, (700, 300)], "in"),
    ],
)
def test_line_crossing_from_the_path_between_frames(path, expected):
    cam = CameraConfig(source="synthetic", lines={"short": {"start": [600, 200], "end": [600, 500]}})
    rules = [RuleConfig(name=d, line="short", direction=d, cooldown_s=0) for d in ("in", "out")]
    eng = RuleEngine("cam", cam, rules, LABELS)
    fired = [e.rule for i, p in enumerate(path) for e in eng.update(dets([at(*p)] if p else []), float(i))]
    assert fired == ([expected] if expected else [])
