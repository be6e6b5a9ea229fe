"""Daemon benchmark: alert latency (frame capture → broker PUBACK) next to model latency, and RSS over a run.

Runs the real Daemon in this process on a realtime synthetic camera (people walking through a zone), against a
Mosquitto started on a free loopback port. Writes benchmarks/results/daemon.json.

    .venv/bin/python -m benchmarks.daemon_bench --minutes 10
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import threading
import time
from pathlib import Path

import psutil

from benchmarks.lib.broker import start_broker
from edgekit.config.daemon import DaemonConfig
from edgekit.pipeline.daemon import Daemon
from edgekit.sources import SyntheticScene, SyntheticSource
from edgekit.timing import percentiles

OUT = Path(__file__).resolve().parent / "results" / "daemon.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--warmup-s", type=float, default=60.0, help="RSS baseline is taken after this")
    ap.add_argument("--profile", default="desktop")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edgekit-bench-"))
    broker, port = start_broker(work)
    cfg = DaemonConfig.model_validate({
        "device": "bench", "profile": args.profile, "state_dir": str(work / "state"),
        "cameras": {"cam": {"source": "synthetic:0", "realtime": True,
                            "zones": {"mid": {"polygon": [[320, 0], [960, 0], [960, 720], [320, 720]]}}}},
        # every new track in the zone fires: ~3 people per 8 s loop of the scene
        "rules": [{"name": "in_zone", "zone": "mid", "min_frames": 1, "cooldown_s": 0}],
        "mqtt": {"host": "127.0.0.1", "port": port, "stats_interval_s": 5},
        "metrics": {"enabled": False},
    })
    proc = psutil.Process()
    daemon = Daemon(cfg)
    # Slow walkers (one loop of 3 people per minute): on a loaded 2-core CPU the detector runs at ~1-8 FPS, and
    # ByteTrack needs boxes that overlap between processed frames to confirm a track.
    scene = SyntheticScene.random(0, period=60.0)
    daemon.workers["cam"]._opener = lambda uri: SyntheticSource(scene=scene, fps=15.0, realtime=True,
                                                                source_id="bench")
    stop = threading.Event()
    daemon.start()
    runner = threading.Thread(target=daemon.run, args=(stop,), daemon=True)
    runner.start()
    t0 = time.monotonic()
    rss: list[tuple[float, int]] = []
    try:
        while (el := time.monotonic() - t0) < args.minutes * 60:
            rss.append((round(el, 1), proc.memory_info().rss))
            time.sleep(5)
    finally:
        stop.set()
        runner.join(30)
        w = daemon.workers["cam"]
        stats = daemon.stats().cameras["cam"].model_dump(mode="json")
        alert_ms = list(daemon.link.latencies_ms) if daemon.link else []
        timer = w.stats.timer
        det_timer = w.detector.timer
        plan = w.detector.plan.to_dict() if w.detector.plan else {}
        daemon.close()
        broker.terminate()
        broker.wait(10)
    after = [r for t, r in rss if t >= args.warmup_s] or [r for _, r in rss]
    first, last = after[: max(1, len(after) // 10)], after[-max(1, len(after) // 10):]
    growth_mb = (sum(last) / len(last) - sum(first) / len(first)) / 2**20
    result = {
        "what": "edgekit daemon: alert latency (capture→PUBACK) and RSS over a run",
        "host": {"machine": platform.machine(), "cpus": psutil.cpu_count(), "python": platform.python_version(),
                 "load_avg_at_end": [round(x, 2) for x in psutil.getloadavg()]},
        "profile": args.profile, "plan": plan,
        "minutes": args.minutes, "warmup_s": args.warmup_s,
        "alert_latency_ms": percentiles(alert_ms),
        "model_latency_ms": {"infer": percentiles(det_timer.samples("infer")),
                             "pre": percentiles(timer.samples("pre")), "post": percentiles(det_timer.samples("post"))},
        "pipeline_stage_ms": timer.summary(),
        "camera": {k: stats[k] for k in ("captured", "processed", "dropped", "events", "max_lag_frames")},
        "rss_mb": {"after_warmup": round(sum(first) / len(first) / 2**20, 1),
                   "end": round(sum(last) / len(last) / 2**20, 1), "growth": round(growth_mb, 2),
                   "max": round(max(r for _, r in rss) / 2**20, 1)},
        "rss_samples": [(t, round(r / 2**20, 1)) for t, r in rss],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    summary = {k: result[k] for k in ("alert_latency_ms", "model_latency_ms", "camera", "rss_mb")}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
