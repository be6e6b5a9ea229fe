"""FP32 vs INT8 ONNX of the default detector, side by side on this CPU, with the accuracy gate's verdict.

1. ``edgekit.export`` builds the INT8 QDQ model (gated: mAP50-95 against FP32 on labelled images), unless ``--int8``
   names one already built.
2. Both models run raw ``infer`` on the same pre-processed image, interleaved run by run (so both see the same
   machine state), after a warm-up; p50/p90/p99 per model and the p50 speed-up.

Target (issue 3): INT8 ≥ 1.5× faster than FP32 with ≤ 1.0 point mAP50-95 drop.

Usage: .venv/bin/python -m benchmarks.export_bench [--threads 2] [--runs 40] [--out benchmarks/results/export.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from edgekit.backends import BackendOptions, open_backend
from edgekit.export import ExportOptions, export
from edgekit.export.report import ExportReport
from edgekit.timing import percentiles
from edgekit.vision.preprocess import letterbox

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEKIT_SHARED", REPO.parent / "shared"))


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "yolov8s-fall.onnx")
    ap.add_argument("--int8", type=Path, default=None, help="an INT8 ONNX already exported (skips the export)")
    ap.add_argument("--val", type=Path, default=SHARED / "data")
    ap.add_argument("--generated", type=int, default=24)
    ap.add_argument("--calib-method", default="minmax")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--work", type=Path, default=REPO / "export-out" / "bench")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "export.json")
    args = ap.parse_args()

    report: ExportReport | None = None
    int8 = args.int8
    if int8 is None:
        t0 = time.perf_counter()
        report = export(
            args.model,
            ExportOptions(
                precision="int8", val=args.val, generated=args.generated, calib_method=args.calib_method, out=args.work
            ),
        )
        print(f"export: {time.perf_counter() - t0:.0f} s, passed={report.passed}, drop={report.map_drop}")
        int8 = Path(report.artifact or "")
    opts = BackendOptions(threads=args.threads)
    fp32_be, int8_be = open_backend(args.model, opts), open_backend(int8, opts)
    image = __import__("cv2").imread(str(args.val / "images" / "bus.jpg"))
    x, _ = letterbox(image, (640, 640))
    for _ in range(args.warmup):
        fp32_be.infer([x])
        int8_be.infer([x])
    times: dict[str, list[float]] = {"fp32": [], "int8": []}
    for _ in range(args.runs):
        for name, be in (("fp32", fp32_be), ("int8", int8_be)):
            t = time.perf_counter_ns()
            be.infer([x])
            times[name].append((time.perf_counter_ns() - t) / 1e6)
    lat = {k: percentiles(v) for k, v in times.items()}
    speedup = round(lat["fp32"]["p50"] / lat["int8"]["p50"], 2)
    result = {
        "benchmark": "export_fp32_vs_int8_onnx",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "device": {
            "cpu": _cpu(),
            "cores": os.cpu_count(),
            "threads": args.threads,
            "onnxruntime": __import__("onnxruntime").__version__,
            "numpy": np.__version__,
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "model": str(args.model),
        "int8_model": str(int8),
        "runs": args.runs,
        "warmup": args.warmup,
        "input": [1, 3, 640, 640],
        "latency_ms": lat,
        "speedup_p50": speedup,
        "sizes_mb": {
            "fp32": round(args.model.stat().st_size / 2**20, 1),
            "int8": round(int8.stat().st_size / 2**20, 1),
        },
        "gate": None
        if report is None
        else {
            "passed": report.passed,
            "map_drop": report.map_drop,
            "max_map_drop": report.max_map_drop,
            "source": report.source_accuracy.model_dump() if report.source_accuracy else None,
            "int8": report.accuracy.model_dump() if report.accuracy else None,
            "attempts": [
                {
                    "name": a.name,
                    "nodes_in_float": len(a.nodes_in_float),
                    "map50_95": a.accuracy.map50_95 if a.accuracy else None,
                    "passed": a.passed,
                }
                for a in report.attempts
            ],
            "validation": report.validation.model_dump() if report.validation else None,
        },
        "target": {
            "speedup_ge_1_5": speedup >= 1.5,
            "drop_le_1_0": None if report is None else bool(report.map_drop is not None and report.map_drop <= 1.0),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {
                "latency_p50_ms": {k: v["p50"] for k, v in lat.items()},
                "speedup_p50": speedup,
                "target": result["target"],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
