"""Three cameras on one model: one shared backend (LiteRT: serialised by its lock) vs one backend per camera.

Each of ``--cameras`` threads runs ``--runs`` inferences on its own input; the figure is total inferences per second
over the wall time of all threads, after one warm-up inference per backend. Writes JSON (with the load average
before and after, and the CPU flags) to ``--out``.

    python benchmarks/shared_backend.py MODEL.tflite [MODEL.onnx ...] --threads 2 --runs 10 --out results/x.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from pathlib import Path

import numpy as np

from edgekit.backends import Backend, BackendOptions, open_backend


def run(backends: list[Backend], runs: int) -> float:
    shape = tuple(d if isinstance(d, int) and d > 0 else 1 for d in backends[0].inputs[0].shape)
    rng = np.random.default_rng(0)
    inputs = [rng.random(shape, dtype=np.float32) for _ in backends]
    for be in {id(b): b for b in backends}.values():
        be.infer([inputs[0]])  # warm-up
    start = threading.Barrier(len(backends) + 1)

    def cam(i: int) -> None:
        start.wait()
        for _ in range(runs):
            backends[i].infer([inputs[i]])

    threads = [threading.Thread(target=cam, args=(i,)) for i in range(len(backends))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return len(backends) * runs / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--cameras", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    flags = next((ln.split(":", 1)[1].split() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("flags")), [])
    res: dict[str, object] = {"cameras": a.cameras, "threads_per_backend": a.threads, "runs_per_camera": a.runs,
                              "cpus": os.cpu_count(), "machine": platform.machine(),
                              "cpu_flags": [f for f in flags if f.startswith(("avx", "amx"))],
                              "loadavg_before": Path("/proc/loadavg").read_text().split()[:3], "results": []}
    for m in a.models:
        opts = BackendOptions(threads=a.threads)
        shared = open_backend(m, opts)
        own = [open_backend(m, opts) for _ in range(a.cameras)]
        row = {"model": m.name, "backend": shared.name,
               "shared_ips": round(run([shared] * a.cameras, a.runs), 2),
               "per_camera_ips": round(run(own, a.runs), 2)}
        print(row, flush=True)
        res["results"].append(row)  # type: ignore[union-attr]
        for be in [shared, *own]:
            be.close()
    res["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
