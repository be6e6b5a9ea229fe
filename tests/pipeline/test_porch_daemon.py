"""The porch camera end to end, in-process: a person walks to the door and waits; a real Mosquitto receives the
retained Home Assistant discovery (validated against HA's schema), the counts, the snapshot for the camera entity,
the event with its clip path, and the clip itself (H.264 MP4 checked with ffprobe)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import jsonschema
import pytest

from edgekit.config.daemon import DaemonConfig
from edgekit.events.store import EventStore
from edgekit.pipeline.daemon import Daemon
from edgekit.sources import SyntheticScene, Walker, make_synthetic_video
from tests.helpers import wait_until

SCHEMA = json.loads((Path(__file__).parents[1] / "delivery" / "ha_mqtt_discovery.schema.json").read_text())
FPS = 6.0


def visitor_scene() -> SyntheticScene:
    """Empty 2 s; a person walks from the left to the door (x=640) in 2 s, waits there 4 s, leaves to the right."""
    p = {"sprite": 1, "height": 460, "foot_y": 640}
    return SyntheticScene([Walker(**p, x0=150.0, x1=640.0, t0=2.0, t1=4.0),
                           Walker(**p, x0=640.0, x1=640.0, t0=4.0 + 1 / FPS, t1=8.0),
                           Walker(**p, x0=640.0, x1=1130.0, t0=8.0 + 1 / FPS, t1=10.0)])


@pytest.mark.slow
def test_porch_daemon_on_a_real_broker(broker, consumer_factory, tmp_path):
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe missing: scripts/install_clips.sh installs ffmpeg")
    video = make_synthetic_video(tmp_path / "porch.mp4", seconds=12.0, fps=FPS, scene=visitor_scene())
    cfg = DaemonConfig.model_validate({
        "device": "porch-test", "profile": "desktop", "state_dir": str(tmp_path / "state"),
        "cameras": {"porch": {
            "source": str(video), "on_end": "stop", "frame_size": [1280, 720],
            "motion": {"mask": [[[0, 0], [1280, 0], [1280, 100]]]},
            "objects": {"filters": {"Normal": {"min_area": 2000}}},
            "clips": {"enabled": True, "pre_s": 2, "post_s": 2, "segment_s": 1, "buffer_s": 20},
            "zones": {"door": {"polygon": [[540, 560], [740, 560], [740, 720], [540, 720]]}},
        }},
        "rules": [{"name": "at_door", "labels": ["Normal"], "zone": "door", "dwell_s": 2, "cooldown_s": 60}],
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "snapshots": "topic", "stats_interval_s": 1},
        "metrics": {"enabled": False},
    })
    c = consumer_factory(["edgekit/porch-test/#"])
    d = Daemon(cfg)
    stop = threading.Event()
    d.start()
    runner = threading.Thread(target=d.run, args=(stop,), kwargs={"stats_every_s": 0.5})
    runner.start()
    try:
        wait_until(lambda: d.workers["porch"].finished, 300, what="the video processed to its end")
        runner.join(60)
        wait_until(lambda: c.payloads("/porch/clip"), 30, what="the clip-ready message")
        report = d.stats().cameras["porch"]  # the typed stats carry the gate's and the recorder's figures
        assert report.motion_skipped == d.workers["porch"].stats.motion_skipped and report.clips == 1
    finally:
        stop.set()
        runner.join(60)
        d.close()
    # one event, its clip path in the event on MQTT and in the store
    (ev,) = c.events()
    assert ev["rule"] == "at_door" and ev["clip"] and ev["clip"].endswith(f"{ev['id']}.mp4")
    with EventStore(tmp_path / "state" / "events.db", readonly=True) as store:
        (stored,) = store.query()
    assert stored.clip == ev["clip"]
    ready = json.loads(c.payloads("/porch/clip")[-1])
    assert ready["event_id"] == ev["id"] and ready["clip"] == ev["clip"]
    # the clip: H.264 in MP4, from 2 s before the person stepped on the mat to 2 s after the event fired
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=format_name,duration:stream=codec_name",
                        "-of", "json", ev["clip"]], capture_output=True, text=True, timeout=60)
    info = json.loads(r.stdout)
    assert info["streams"][0]["codec_name"] == "h264" and "mp4" in info["format"]["format_name"]
    expected = (ev["start_ts"] + 2.0 + 2.0) - (ev["start_ts"] - 2.0)  # dwell 2 s: fired 2 s after start
    assert float(info["format"]["duration"]) == pytest.approx(expected, abs=1.0 + 2 / FPS)
    # the motion gate kept the detector off the empty start and most of the wait
    w = d.workers["porch"]
    assert w.stats.motion_skipped >= 5 and w.recorder is not None and len(w.recorder.clips) == 1
    # counts: someone on the mat, then nobody
    counts = [int(p) for p in c.payloads("/porch/count/door/Normal")]
    assert max(counts) == 1 and counts[-1] == 0
    # the camera entity's topic got the annotated snapshot (a JPEG), retained
    snaps = [(p, r) for t, p, r in c.messages if t.endswith("/porch/snapshot")]
    assert snaps and snaps[-1][0][:2] == b"\xff\xd8"
    # retained discovery, as Home Assistant sees it when it subscribes later: every payload valid
    late = consumer_factory(["homeassistant/#"], client_id="late-ha")
    wait_until(lambda: len(late.messages) >= 5, 10, what="5 retained discovery messages")
    comps = set()
    for topic, payload, retained in late.messages:
        comp = topic.split("/")[1]
        comps.add(comp)
        errs = list(jsonschema.Draft202012Validator(SCHEMA["$defs"][comp]).iter_errors(json.loads(payload)))
        assert retained and not errs, (topic, [e.message for e in errs])
    assert comps == {"binary_sensor", "camera", "sensor"}
