"""Motion stage and gate on the synthetic scene (people cut from the shared photos on a real background)."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.config.motion import MotionConfig
from edgekit.pipeline.motion import MotionDetector, MotionGate
from edgekit.sources import SyntheticScene, Walker, make_synthetic_video, open_source

FPS = 15.0


def walk_scene() -> SyntheticScene:
    """Empty for 2 s, then one person crosses left to right in 4 s."""
    return SyntheticScene([Walker(sprite=0, height=400, foot_y=650, x0=-100, x1=1380, t0=2.0, t1=6.0)])


def frames(scene: SyntheticScene, seconds: float, fps: float = FPS):
    for i in range(round(seconds * fps)):
        t = i / fps
        img, boxes = scene.render(t)
        yield t, img, boxes


@pytest.mark.parametrize("method", ["diff", "mog2"])
def test_static_scene_has_no_motion_and_walker_is_seen_on_its_first_frame(method):
    md = MotionDetector(MotionConfig(method=method))
    first_visible = None
    for t, img, boxes in frames(walk_scene(), 4.0):
        m = md.update(img)
        if t == 0:
            assert m, "the first frame counts as motion (objects already there get detected once)"
            continue
        if len(boxes) and first_visible is None:
            first_visible = t
            assert m, f"walker entered at t={t:.2f}s but no motion"
            # the moving blob overlaps the walker's true box
            b, mb = boxes[0], m.boxes
            assert ((mb[:, 0] < b[2]) & (mb[:, 2] > b[0]) & (mb[:, 1] < b[3]) & (mb[:, 3] > b[1])).any()
        elif not len(boxes):
            assert not m, f"motion on an empty static scene at t={t:.2f}s: {m.boxes}"
        else:
            assert m, f"walker in view at t={t:.2f}s but no motion"
    assert first_visible is not None


def test_codec_noise_of_a_static_video_is_not_motion(tmp_path):
    """A static scene through a real lossy codec (MPEG-4 part 2): compression noise must stay under threshold."""
    video = make_synthetic_video(tmp_path / "static.mp4", seconds=3.0, fps=FPS, scene=SyntheticScene([]))
    src = open_source(str(video))
    md = MotionDetector(MotionConfig())
    flags = []
    while (f := src.read()) is not None:
        flags.append(bool(md.update(f.image)))
    src.close()
    assert len(flags) == 45 and flags[0] and not any(flags[1:])


def test_motion_mask_ignores_the_masked_area():
    scene = walk_scene()
    lane = [[0, 200], [1280, 200], [1280, 720], [0, 720]]  # the walker's whole lane
    md = MotionDetector(MotionConfig(mask=[lane]))
    seen = [bool(md.update(img)) for t, img, boxes in frames(scene, 4.0)]
    assert seen[0] and not any(seen[1:])
    # a mask elsewhere changes nothing
    md = MotionDetector(MotionConfig(mask=[[[0, 0], [100, 0], [100, 100]]]))
    seen = [(bool(md.update(img)), len(boxes) > 0) for t, img, boxes in frames(scene, 4.0)]
    assert all(m for m, visible in seen if visible)


def test_min_area_drops_small_blobs():
    still = np.full((720, 1280, 3), 100, np.uint8)
    small = still.copy()
    small[100:110, 100:110] = 255  # 100 px²
    md = MotionDetector(MotionConfig(min_area=2000))
    md.update(still)
    assert not md.update(small)
    md = MotionDetector(MotionConfig(min_area=20))
    md.update(still)
    assert md.update(small)


def test_gate_skips_quiet_frames_and_resumes_on_first_motion():
    gate = MotionGate(MotionConfig(hold_s=0.5, stationary_interval_s=1.0))
    decisions = []
    for t, img, boxes in frames(walk_scene(), 4.0):
        run = gate.should_detect(img, t)
        if run:
            gate.detected(len(boxes), t)  # stand-in for the detector: the true boxes
        decisions.append((t, run, len(boxes) > 0))
    # start-up frame plus the hold period after it, then nothing until the walker enters
    quiet = [run for t, run, vis in decisions if 0.6 < t < 2.0]
    assert quiet and not any(quiet)
    entering = next(run for t, run, vis in decisions if vis)
    assert entering, "detection must resume on the first frame with motion"
    assert all(run for t, run, vis in decisions if vis)
    assert gate.skipped == sum(not run for _, run, _ in decisions)


def test_gate_keeps_checking_objects_that_stand_still():
    """A person who stops moving no longer makes motion; the gate still detects once a second while they stay."""
    still = np.full((360, 640, 3), 80, np.uint8)
    gate = MotionGate(MotionConfig(hold_s=0.0, stationary_interval_s=1.0))
    runs = []
    for i in range(int(5 * FPS)):
        t = i / FPS
        run = gate.should_detect(still, t)
        if run:
            gate.detected(1, t)  # the detector keeps seeing the person
            runs.append(t)
    gaps = np.diff(runs)
    assert len(runs) >= 5 and gaps.max() <= 1.0 + 1 / FPS + 1e-9 and gaps.min() >= 1.0 - 1e-9
    gate.detected(0, runs[-1])  # the person left (as the detector says): no more runs without motion
    assert not any(gate.should_detect(still, 10 + i / FPS) for i in range(30))


def test_disabled_gate_detects_every_frame():
    gate = MotionGate(MotionConfig(enabled=False))
    still = np.zeros((100, 100, 3), np.uint8)
    assert all(gate.should_detect(still, i / FPS) for i in range(20)) and gate.detector is None
