"""Event clips: real H.264 encoding (PyAV/libx264) of the synthetic scene, checked with FFmpeg's ffprobe."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from edgekit.config.clips import ClipsConfig
from edgekit.pipeline.clips import ClipRecorder
from edgekit.sources import SyntheticScene

FFPROBE = shutil.which("ffprobe")
needs_ffprobe = pytest.mark.skipif(FFPROBE is None, reason="ffprobe missing: scripts/install_clips.sh installs ffmpeg")
FPS = 15.0
T0 = 1_700_000_000.0  # wall-clock seconds of the first frame


def probe(path: Path) -> dict:
    assert FFPROBE is not None
    r = subprocess.run([FFPROBE, "-v", "error", "-show_entries",
                        "format=format_name,duration:stream=codec_name,pix_fmt,width,height,nb_frames",
                        "-of", "json", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def record(rec: ClipRecorder, scene: SyntheticScene, seconds: float, requests: dict[int, tuple[str, float, float]]):
    """Feed ``seconds`` of the scene at FPS (frame i at T0 + i/FPS); at frame k, request clip (id, start, fire)."""
    rec.start()
    for i in range(round(seconds * FPS)):
        t = T0 + i / FPS
        rec.add(scene.render(i / FPS)[0], t)
        if i in requests:
            eid, start, fire = requests[i]
            rec.request(eid, start, fire)
        # the camera thread never waits for the encoder; here the test does, so no frame is dropped
        while rec._q.qsize() > 2:
            rec._thread.join(0.005)
    rec.close()
    assert rec.dropped == 0


@needs_ffprobe
def test_event_clip_is_h264_mp4_with_pre_and_post_roll(tmp_path):
    scene = SyntheticScene.random(0, period=8)
    cfg = ClipsConfig(enabled=True, pre_s=2, post_s=3, segment_s=2, buffer_s=10)
    rec = ClipRecorder("porch", cfg, tmp_path, fps=FPS)
    # event starts at 4 s, fires at 5 s: the clip should cover 2 s .. 8 s
    record(rec, scene, 10.0, {75: ("ev1", T0 + 4.0, T0 + 5.0)})
    path = tmp_path / "porch" / "ev1.mp4"
    assert [c.path for c in rec.clips] == [path] and path.is_file()
    info = probe(path)
    stream = info["streams"][0]
    assert stream["codec_name"] == "h264" and stream["pix_fmt"] == "yuv420p"  # what browsers play
    assert "mp4" in info["format"]["format_name"].split(",")
    assert (stream["width"], stream["height"]) == (640, 360)
    assert float(info["format"]["duration"]) == pytest.approx(6.0, abs=1.5 / FPS)
    assert int(stream["nb_frames"]) == pytest.approx(6.0 * FPS, abs=1)
    # the first frame of the clip is the scene at 2 s (pre-roll before the start), the last at 8 s
    cap = cv2.VideoCapture(str(path))
    ok, first = cap.read()
    assert ok
    want = cv2.resize(scene.render(2.0)[0], (640, 360), interpolation=cv2.INTER_AREA)
    other = cv2.resize(scene.render(3.0)[0], (640, 360), interpolation=cv2.INTER_AREA)
    err = np.abs(first.astype(int) - want).mean()
    assert err < 6 and err < np.abs(first.astype(int) - other).mean() / 2
    cap.release()
    # the moov atom comes first (faststart): a browser can start playing before the whole file arrived
    data = path.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")


@needs_ffprobe
def test_pre_roll_is_clamped_to_the_buffer_and_close_writes_what_it_has(tmp_path):
    cfg = ClipsConfig(enabled=True, pre_s=5, post_s=10, segment_s=1, buffer_s=8)
    rec = ClipRecorder("cam", cfg, tmp_path, fps=FPS)
    # fires 1 s after recording started (pre-roll reaches before it); recording stops 3 s after (post-roll cut)
    record(rec, SyntheticScene.random(1, period=8), 4.0, {15: ("early", T0 + 1.0, T0 + 1.0)})
    info = probe(tmp_path / "cam" / "early.mp4")
    assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=1.5 / FPS)


def test_rolling_buffer_stays_bounded(tmp_path):
    cfg = ClipsConfig(enabled=True, pre_s=1, post_s=1, segment_s=1, buffer_s=3, width=160)
    rec = ClipRecorder("cam", cfg, tmp_path, fps=FPS)
    record(rec, SyntheticScene([]), 12.0, {})
    files = sorted((tmp_path / "cam" / "segments").glob("*.mp4"))
    assert 3 <= len(files) <= 5  # buffer_s of whole segments, plus the one being written at the end
    assert [s.path for s in rec.segments] == files
    assert rec.segments[-1].end - rec.segments[0].start <= cfg.buffer_s + 2 * cfg.segment_s


def test_clip_frame_rate_cap_encodes_fewer_frames(tmp_path):
    cfg = ClipsConfig(enabled=True, pre_s=1, post_s=1, segment_s=1, buffer_s=5, fps=3, width=160)
    rec = ClipRecorder("cam", cfg, tmp_path, fps=FPS)
    record(rec, SyntheticScene([]), 4.0, {})
    assert rec.encoded == pytest.approx(4 * 3, abs=1)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"enabled": True, "pre_s": 30, "buffer_s": 20}, "pre_s 30 (+ one segment of 2 s) is longer than buffer_s 20"),
        ({"enabled": True, "folder": "/proc/edgekit-clips"}, "is not writable"),
        ({"enabled": True, "segment_s": 0.1}, "greater than or equal to 0.5"),
    ],
)
def test_bad_clip_config(cfg, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        ClipsConfig.model_validate(cfg)


def test_clip_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValidationError, match="is not a folder"):
        ClipsConfig(enabled=True, folder=str(tmp_path / "file" / "clips"))
    ClipsConfig(enabled=True, folder=str(tmp_path / "new" / "clips"))  # creatable: fine
    assert not (tmp_path / "new").exists()  # the check leaves nothing behind


def test_retention_bounds_clips_and_leaves_the_rolling_buffer_alone(tmp_path):
    """Clips fall under the storage bounds (age, total size, then the free-disk watermark first of all)."""
    import os
    import time

    from edgekit.config.retention import RetentionConfig
    from edgekit.delivery.outbox import Outbox
    from edgekit.events.store import EventStore
    from edgekit.pipeline.retention import DAY, Retention

    now = time.time()
    clips = []
    for i in range(6):
        p = tmp_path / "clips" / "cam" / f"ev{i}.mp4"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(300_000))
        age = 20 * DAY if i < 2 else 600 - i  # two are 20 days old
        os.utime(p, (now - age, now - age))
        clips.append(p)
    seg = tmp_path / "clips" / "cam" / "segments" / "1.mp4"
    seg.parent.mkdir()
    seg.write_bytes(os.urandom(300_000))
    os.utime(seg, (now - 30 * DAY, now - 30 * DAY))
    store, outbox = EventStore(tmp_path / "events.db"), Outbox(tmp_path / "outbox.db")
    cfg = RetentionConfig(clips_max_age_days=14, clips_max_mb=0.6, min_free_mb=0)
    r = Retention(cfg, tmp_path / "snapshots", store, outbox, clips=[tmp_path / "clips"])
    done = r.sweep()
    # 2 too old; of the 4 left (1.2 MB) the 2 oldest go to get under 0.6 MB; the segment stays
    assert done == {("clip", "age"): 2, ("clip", "size"): 2}
    assert [p.exists() for p in clips] == [False] * 4 + [True] * 2 and seg.exists()
    assert r.clips_mb == pytest.approx(0.57, abs=0.01)
    # under the free-disk watermark, clips go before anything else
    low = Retention(RetentionConfig(clips_max_age_days=None, clips_max_mb=None, min_free_mb=10**9), tmp_path /
                    "snapshots", store, outbox, clips=[tmp_path / "clips"])
    assert low.sweep().get(("clip", "disk")) == 2 and seg.exists()
