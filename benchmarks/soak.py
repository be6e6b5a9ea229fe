"""Soak: the daemon runs for N minutes on a realtime synthetic camera against a real Mosquitto, while a consumer
records every event and hostile messages arrive on the assistant and command topics now and then. At the end: RSS
growth after warm-up (< 5 MB wanted), and every event the daemon stored was delivered (by id, at least once).
Not part of CI; writes benchmarks/results/soak.json.

    .venv/bin/python -m benchmarks.soak --minutes 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil

from benchmarks.lib.broker import start_broker
from edgekit.config.daemon import DaemonConfig
from edgekit.events.store import EventStore
from edgekit.pipeline.daemon import Daemon
from edgekit.sources import SyntheticScene, SyntheticSource

OUT = Path(__file__).resolve().parent / "results" / "soak.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--warmup-s", type=float, default=120.0, help="RSS baseline is taken after this")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edgekit-soak-"))
    broker, port = start_broker(work)
    got: set[str] = set()
    copies = 0
    lock = threading.Lock()

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal copies
        if msg.topic.endswith("/events"):
            with lock:
                got.add(json.loads(msg.payload)["id"])
                copies += 1

    consumer = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="soak-consumer", clean_session=False)
    consumer.on_connect = lambda c, *_: c.subscribe("edgekit/soak/events", qos=1)
    consumer.on_message = on_message
    consumer.connect("127.0.0.1", port)
    consumer.loop_start()
    cfg = DaemonConfig.model_validate({
        "device": "soak", "state_dir": str(work / "state"),
        "cameras": {"cam": {"source": "synthetic:0", "realtime": True,
                            "zones": {"mid": {"polygon": [[320, 0], [960, 0], [960, 720], [320, 720]]}}}},
        "rules": [{"name": "in_zone", "zone": "mid", "min_frames": 1, "cooldown_s": 0}],
        "mqtt": {"host": "127.0.0.1", "port": port, "stats_interval_s": 5},
        "metrics": {"enabled": True, "port": 0},
    })
    daemon = Daemon(cfg)
    scene = SyntheticScene.random(0, period=60.0)  # slow walkers: tracks confirm even at a few FPS
    daemon.workers["cam"]._opener = lambda uri: SyntheticSource(scene=scene, fps=15.0, realtime=True,
                                                                source_id="soak")
    stop = threading.Event()
    daemon.start()
    runner = threading.Thread(target=daemon.run, args=(stop,), daemon=True)
    runner.start()
    hostile = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="soak-hostile")
    hostile.connect("127.0.0.1", port)
    hostile.loop_start()
    proc = psutil.Process()
    rss: list[tuple[float, int]] = []
    load: list[list[float]] = []
    t0 = time.monotonic()
    try:
        n = 0
        while (el := time.monotonic() - t0) < args.minutes * 60:
            rss.append((round(el, 1), proc.memory_info().rss))
            load.append([round(x, 2) for x in os.getloadavg()])
            if n % 12 == 0:  # once a minute: a deep request, a huge one, a bad command
                hostile.publish("edgekit/soak/assistant/request", b"[" * 100_000, qos=1)
                hostile.publish("edgekit/soak/assistant/request", b'{"id": "x", "question": "' + b"y" * 70_000 + b'"}')
                hostile.publish("edgekit/soak/cam/in_zone/set", b"\xff\xfe", qos=1)
            n += 1
            time.sleep(5)
    finally:
        stop.set()
        runner.join(60)
        stats = daemon.stats()
        daemon.close()
    with EventStore(work / "state" / "events.db") as store:
        stored = {e.id for e in store.query(limit=1_000_000)}
    deadline = time.monotonic() + 60
    while not stored <= got and time.monotonic() < deadline:
        time.sleep(0.5)
    consumer.loop_stop()
    hostile.loop_stop()
    broker.terminate()
    broker.wait(10)
    after = [r for t, r in rss if t >= args.warmup_s] or [r for _, r in rss]
    k = max(1, len(after) // 10)
    growth = (sum(after[-k:]) / k - sum(after[:k]) / k) / 2**20
    result = {
        "what": "edgekit daemon soak: RSS and delivery over a long run, with hostile messages once a minute",
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "minutes": args.minutes, "warmup_s": args.warmup_s,
        "events_stored": len(stored), "events_delivered": len(stored & got), "copies_received": copies,
        "all_delivered": stored <= got,
        "camera": stats.cameras["cam"].model_dump(include={"captured", "processed", "dropped", "events"}),
        "mqtt": stats.mqtt.model_dump() if stats.mqtt else None,
        "rss_mb": {"after_warmup": round(sum(after[:k]) / k / 2**20, 1), "end": round(sum(after[-k:]) / k / 2**20, 1),
                   "growth": round(growth, 2), "max": round(max(r for _, r in rss) / 2**20, 1)},
        "loadavg": {"min": min(x[0] for x in load), "max": max(x[0] for x in load),
                    "mean": round(sum(x[0] for x in load) / len(load), 2)},
        "rss_samples": [(t, round(r / 2**20, 1)) for t, r in rss],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "rss_samples"}, indent=2))


if __name__ == "__main__":
    main()
