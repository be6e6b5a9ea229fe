"""ONNX Runtime's memory pattern on vs off (issue 16): two CPU sessions of one model in one process, runs
interleaved (alternating order), median ms of each; prints a JSON line with the 1-minute load before and after.

    .venv/bin/python benchmarks/ort_mem_pattern_ab.py models/yolov8s-fall.onnx 640 30
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort


def session(model: str, pattern: bool) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = 2, 1, 3
    so.enable_mem_pattern = pattern
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def main() -> None:
    model, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    load0 = os.getloadavg()[0]
    sessions = {"pattern": session(model, True), "nopattern": session(model, False)}
    x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    name = sessions["pattern"].get_inputs()[0].name
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for s in sessions.values():
        s.run(None, {name: x})
        s.run(None, {name: x})
    for i in range(n):
        for k, s in (list(sessions.items()) if i % 2 else list(sessions.items())[::-1]):
            t = time.perf_counter()
            s.run(None, {name: x})
            times[k].append(time.perf_counter() - t)
    med = {k: round(1000 * float(np.median(v)), 1) for k, v in times.items()}
    print(json.dumps({"model": model, "imgsz": size, "runs": n, "median_ms": med,
                      "nopattern_over_pattern": round(med["nopattern"] / med["pattern"], 3),
                      "load_1min": [round(load0, 2), round(os.getloadavg()[0], 2)]}))


if __name__ == "__main__":
    main()
