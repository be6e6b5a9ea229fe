"""End to end: a video of people (cut from the real photos) walking through a zone → events on a real broker.

The walkers are placed by construction, so the expected events are known: one zone event per person (track),
one "in" line event per person walking left → right. Uses the real default model, tracker and Mosquitto.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edgekit.sources import SyntheticScene, Walker, make_synthetic_video
from edgekit.types import EVENT_SCHEMA_VERSION
from tests.helpers import wait_until

REPO = Path(__file__).resolve().parents[2]
FPS = 6.0


def walkers_scene() -> SyntheticScene:
    """Three people, one after the other: left → right, right → left, left → right.

    They enter at x≈150 and leave at x≈1130 (a door on each side) rather than walking in from off-screen: at 6 FPS
    a full-width crossing moves a box by half its width per frame, too far for ByteTrack to confirm a new track.
    """
    ws = []
    for k, (sprite, l2r) in enumerate([(0, True), (1, False), (2, True)]):
        x0, x1 = (150.0, 1130.0) if l2r else (1130.0, 150.0)
        ws.append(Walker(sprite=sprite, height=460, foot_y=640, x0=x0, x1=x1, t0=4.0 * k, t1=4.0 * k + 3.5))
    return SyntheticScene(ws)


@pytest.fixture(scope="module")
def walk_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic_video(tmp_path_factory.mktemp("video") / "walk.mp4", seconds=12.0, fps=FPS,
                                scene=walkers_scene())


def daemon_config(tmp_path: Path, port: int, cameras: dict, **extra: object) -> Path:
    cfg = {
        "device": "e2e",
        "state_dir": str(tmp_path / "state"),
        "cameras": cameras,
        "rules": [
            {"name": "in_zone", "cameras": ["walk"], "zone": "middle", "min_frames": 2, "cooldown_s": 60},
            {"name": "entering", "cameras": ["walk"], "line": "gate", "direction": "in", "cooldown_s": 60},
        ],
        "mqtt": {"host": "127.0.0.1", "port": port, "stats_interval_s": 1, "keepalive": 5},
        "metrics": {"enabled": True, "port": 0},
        **extra,
    }
    p = tmp_path / "daemon.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def walk_camera(video: Path, **kw: object) -> dict:
    return {"source": str(video), "on_end": "stop",
            "zones": {"middle": {"polygon": [[440, 0], [840, 0], [840, 720], [440, 720]]}},
            "lines": {"gate": {"start": [640, 0], "end": [640, 720]}}, **kw}


def start_daemon(cfg: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", "run", "--quiet", "--config", str(cfg)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_people_walking_through_a_zone_give_the_expected_events(broker, consumer_factory, walk_video, tmp_path):
    c = consumer_factory(["edgekit/e2e/#", "homeassistant/#"])
    cfg = daemon_config(tmp_path, broker.port, {"walk": walk_camera(walk_video)})
    p = start_daemon(cfg)
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out
    # the daemon says offline after its last event, on the same connection: once that is here, nothing more comes
    wait_until(lambda: len(c.events()) >= 5 and c.payloads("e2e/available")[-1:] == [b"offline"], 20,
               what=lambda: f"5 events, then offline ({len(c.events())} events); daemon output: {out}")
    evs = c.events()
    zone = [e for e in evs if e["rule"] == "in_zone"]
    line = [e for e in evs if e["rule"] == "entering"]
    assert len(zone) == 3, [(e["rule"], e["track_id"], e["start_ts"]) for e in evs]
    assert len({e["track_id"] for e in zone}) == 3
    assert len(line) == 2  # walkers 1 and 3 go left → right
    for e in evs:
        assert e["schema_version"] == EVENT_SCHEMA_VERSION and e["device"] == "e2e"
        snap = Path(e["snapshot"])
        assert snap.is_file() and snap.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    # zone events come in walker order, each while that walker is in the scene
    starts = sorted(e["start_ts"] - min(x["start_ts"] for x in zone) for e in zone)
    assert 3.0 < starts[1] - starts[0] < 5.0 and 3.0 < starts[2] - starts[1] < 5.0
    # the event store has them too, and the outbox is empty
    from edgekit.events.store import EventStore

    with EventStore(tmp_path / "state" / "events.db", readonly=True) as store:
        assert store.count() == 5
    from edgekit.delivery.outbox import Outbox

    assert len(Outbox(tmp_path / "state" / "outbox.db")) == 0
    # Home Assistant discovery and retained availability
    disc = [json.loads(p) for t, p, _ in c.messages if t.startswith("homeassistant/binary_sensor/")]
    assert {d["unique_id"] for d in disc} >= {"edgekit_e2e_walk_in_zone", "edgekit_e2e_walk_entering"}
    assert c.payloads("e2e/available")[-1] == b"offline"  # clean shutdown says offline
    stats = json.loads((tmp_path / "state" / "stats.json").read_text())
    assert set(stats["cameras"]["walk"]["stage_ms"]) >= {"pre", "infer", "post", "track", "rules"}
    assert stats["cameras"]["walk"]["processed"] == 72


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_sigkill_restart_delivers_pending(broker, consumer_factory, walk_video, tmp_path):
    """A daemon SIGKILLed while the broker is away keeps its events in the outbox; the next start delivers them."""
    c = consumer_factory(["edgekit/e2e/events"])
    cfg = daemon_config(tmp_path, broker.port, {"walk": walk_camera(walk_video)})
    data = yaml.safe_load(cfg.read_text())
    data["mqtt"]["wait_for_broker"] = True
    cfg.write_text(yaml.safe_dump(data))
    broker.stop()
    p = start_daemon(cfg)
    from edgekit.events.store import EventStore

    store_path = tmp_path / "state" / "events.db"
    wait_until(lambda: store_path.exists() and EventStore(store_path, readonly=True).count() >= 5, 400, 0.5,
               what="5 events in the store")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    from edgekit.delivery.outbox import Outbox

    pending = [r.key for r in Outbox(tmp_path / "state" / "outbox.db").pending(100)]
    assert len(pending) == 5
    broker.start()
    # restart with a camera that has nothing to do: it only has to drain the outbox, then SIGTERM
    data["cameras"] = {"walk": walk_camera(walk_video, enabled=False), "idle": {"source": "synthetic:0",
                                                                                 "realtime": True}}
    cfg.write_text(yaml.safe_dump(data))
    q = start_daemon(cfg)
    wait_until(lambda: len(c.events()) >= 5, 120, what="the 5 pending events delivered")
    q.send_signal(signal.SIGTERM)
    out, _ = q.communicate(timeout=60)
    assert q.returncode == 0, out
    ids = [e["id"] for e in c.events()]
    assert ids == pending  # each exactly once, in order
    assert len(Outbox(tmp_path / "state" / "outbox.db")) == 0
