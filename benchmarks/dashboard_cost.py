"""Dashboard cost: processing FPS of the real daemon with nobody watching vs one viewer on the MJPEG stream.

Runs the Daemon in this process on a synthetic camera that is not paced (frames as fast as detection takes them),
with the dashboard served. Rounds alternate (A B B A ...) so background load hits both alike: in "watch" rounds a
client reads the camera's MJPEG stream for the whole round. Besides FPS, it records the CPU time of the stream
encoder and of the server thread, which is the dashboard's cost independent of the machine's load. Writes
benchmarks/results/dashboard.json.

    .venv/bin/python -m benchmarks.dashboard_cost --rounds 8 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from edgekit.config.daemon import DaemonConfig
from edgekit.device.state import DeviceState, bracket
from edgekit.pipeline.daemon import Daemon

OUT = Path(__file__).resolve().parent / "results" / "dashboard.json"
TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu_s(tid: int | None) -> float:
    if tid is None:
        return 0.0
    fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


class Viewer:
    """Reads the MJPEG stream until stopped, like a browser tab on the Live page."""

    def __init__(self, url: str) -> None:
        self.url, self.bytes = url, 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        with httpx.stream("GET", self.url, timeout=60) as r:
            for chunk in r.iter_bytes():
                self.bytes += len(chunk)
                if self._stop.is_set():
                    return

    def stop(self) -> None:
        self._stop.set()
        self._t.join(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    cfg = DaemonConfig.model_validate({
        "device": "bench", "state_dir": tempfile.mkdtemp(prefix="dash-bench-"),
        "cameras": {"cam": {"source": "synthetic:0:24", "realtime": False}},
        "mqtt": None, "metrics": {"enabled": False}, "dashboard": {"enabled": True, "port": 0},
    })
    before = DeviceState.capture()
    d = Daemon(cfg)
    d.start()
    stop = threading.Event()
    runner = threading.Thread(target=d.run, args=(stop, 5.0), daemon=True)
    runner.start()
    w = d.workers["cam"]
    feed = d.dashboard.dash.hub.feeds["cam"]
    url = f"http://127.0.0.1:{d.dashboard.server.port}/api/cameras/cam/stream.mjpg"
    time.sleep(args.warmup)
    rounds: list[dict[str, Any]] = []
    order = ["idle", "watch", "watch", "idle"] * ((args.rounds + 3) // 4)
    for cond in order[:args.rounds]:
        viewer = Viewer(url) if cond == "watch" else None
        p0, t0 = w.stats.processed, time.monotonic()
        enc0, srv0, cpu0 = feed.cpu_s, thread_cpu_s(d.dashboard.server.native_id), time.process_time()
        jpeg0 = feed.encoded
        time.sleep(args.seconds)
        p1, t1 = w.stats.processed, time.monotonic()
        enc1, srv1, cpu1 = feed.cpu_s, thread_cpu_s(d.dashboard.server.native_id), time.process_time()
        rec = {"condition": cond, "fps": round((p1 - p0) / (t1 - t0), 3), "frames": p1 - p0,
               "jpegs": feed.encoded - jpeg0, "encoder_cpu_s": round(enc1 - enc0, 3),
               "server_cpu_s": round(srv1 - srv0, 3), "process_cpu_s": round(cpu1 - cpu0, 3),
               "load_1m": round(os.getloadavg()[0], 2)}
        if viewer is not None:
            viewer.stop()
            rec["viewer_bytes"] = viewer.bytes
        rounds.append(rec)
        print(rec, flush=True)
    stop.set()
    runner.join(30)
    d.close()
    after = DeviceState.capture()
    idle = [r["fps"] for r in rounds if r["condition"] == "idle"]
    watch = [r["fps"] for r in rounds if r["condition"] == "watch"]
    wr = [r for r in rounds if r["condition"] == "watch"]
    dash_cpu = sum(r["encoder_cpu_s"] + r["server_cpu_s"] for r in wr)
    proc_cpu = sum(r["process_cpu_s"] for r in wr)
    result = {
        "what": "processing FPS of the daemon with nobody watching vs one MJPEG viewer (dashboard cap 5 fps, "
                "640 px wide, quality 70); rounds alternate A B B A",
        "rounds": rounds,
        "fps_idle_median": statistics.median(idle), "fps_watch_median": statistics.median(watch),
        "fps_cost_pct": round(100 * (1 - statistics.median(watch) / statistics.median(idle)), 2),
        "dashboard_cpu_share_pct": round(100 * dash_cpu / proc_cpu, 2) if proc_cpu else None,
        "stream_fps": round(sum(r["jpegs"] for r in wr) / (len(wr) * args.seconds), 2),
        "machine": bracket(before, after),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("rounds", "machine")}, indent=2))
    print("busy machine" if result["machine"]["busy"] else "quiet machine", before.load_avg, after.load_avg)


if __name__ == "__main__":
    main()
