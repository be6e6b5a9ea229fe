"""How long `edgekit run` takes to stop (issue 12 part 4: SIGTERM, Ctrl-C and the end of `--duration` within 2 s).

Each trial starts `edgekit run --verbose` on a realtime synthetic camera and stops it one of four ways:
``sigterm`` / ``sigint`` while it runs the 256 detector, ``sigterm-busy`` while the detector at 1920 is in the middle
of a multi-second inference (a slow board's stage), and ``duration`` (``--duration 1`` with the 1920 detector: the
stop lands while the model loads or infers). Latency = process exit − the signal (or, for ``duration``, the
daemon's own "stopping (--duration ...)" log line). ``--code DIR`` runs another checkout (e.g. main before the
change) the same way, so before/after come from one run on one machine. Writes benchmarks/results/stop_latency.json.

    python benchmarks/stop_latency.py --runs 5 [--code /path/to/old/checkout]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "stop_latency.json"
sys.path.insert(0, str(REPO))
from tests.deploy.resize_onnx import resize_yolov8  # noqa: E402

SCENARIOS = {  # name: (model size, how it stops)
    "sigterm": (256, signal.SIGTERM),
    "sigint": (256, signal.SIGINT),
    "sigterm-busy": (1920, signal.SIGTERM),
    "duration": (1920, None),
}


def processed(stats: Path) -> int:
    try:
        return int(sum(c["processed"] for c in json.loads(stats.read_text())["cameras"].values()))
    except (OSError, ValueError, KeyError):
        return 0


def stop_logged_at(stderr: str) -> float | None:
    """Wall time of the daemon's "stopping (...)" log line (asctime: local time with milliseconds)."""
    for line in stderr.splitlines():
        if "stopping (" in line:
            stamp = " ".join(line.split()[:2])
            return dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return None


def trial(code: Path, work: Path, size: int, sig: signal.Signals | None) -> dict[str, object]:
    stats = work / f"stats-{size}.json"
    stats.unlink(missing_ok=True)
    cfg = work / f"d{size}.yaml"
    cfg.write_text(yaml.safe_dump({"state_dir": str(work / "state"), "model": str(work / f"y{size}.onnx"),
                                   "mqtt": None, "metrics": {"enabled": False}, "stats_file": str(stats),
                                   "cameras": {"c": {"source": "synthetic:1:40", "realtime": True}}}))
    cmd = [sys.executable, "-m", "edgekit.cli.main", "--verbose", "run", "--quiet", "--config", str(cfg),
           "--duration", "1" if sig is None else "900"]
    p = subprocess.Popen(cmd, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(code)})
    sent, started = None, time.time()
    if sig is not None:
        deadline = time.monotonic() + 600
        while p.poll() is None and processed(stats) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        # the 1920 detector takes seconds a frame: land in the middle of the next inference, not between two
        time.sleep(0.3 if size > 640 else 0.0)
        sent = time.time()
        p.send_signal(sig)
    _, err = p.communicate(timeout=600)
    end = time.time()
    t0 = sent if sent is not None else stop_logged_at(err)
    return {"rc": p.returncode, "latency_s": round(end - t0, 3) if t0 is not None else None,
            "wall_s": round(end - started, 2),
            "forced": "exiting now" in err, "busy_camera_left": "still busy at stop" in err}


def summarize(rs: list[dict[str, object]]) -> dict[str, object]:
    lat = sorted(float(str(r["latency_s"])) for r in rs if r["latency_s"] is not None)
    return {"runs": len(rs), "max_s": lat[-1] if lat else None, "median_s": lat[len(lat) // 2] if lat else None,
            "forced_exits": sum(bool(r["forced"]) for r in rs), "exit_codes": sorted({str(r["rc"]) for r in rs})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--code", type=Path, action="append", default=[],
                    help="another checkout to measure beside this one (e.g. main before the change)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edgekit-stop-"))
    for size in {s for s, _ in SCENARIOS.values()}:
        resize_yolov8(REPO / "models/yolov8s-fall.onnx", work / f"y{size}.onnx", size)
    codes = {"this": REPO, **{str(c): c for c in args.code}}
    results: dict[str, dict[str, list[dict[str, object]]]] = {c: {s: [] for s in SCENARIOS} for c in codes}
    load = []
    for _ in range(args.runs):  # interleaved: background load hits every variant alike
        load.append(Path("/proc/loadavg").read_text().split()[:3])
        for name, (size, sig) in SCENARIOS.items():
            for label, code in codes.items():
                r = trial(code, work, size, sig)
                results[label][name].append(r)
                print(label, name, r, flush=True)
    summary = {label: {name: summarize(rs) for name, rs in per.items()} for label, per in results.items()}
    out = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": platform.processor() or
           platform.machine(), "cores": os.cpu_count(), "loadavg_before_each_round": load,
           "loadavg_after": Path("/proc/loadavg").read_text().split()[:3], "summary": summary, "trials": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
