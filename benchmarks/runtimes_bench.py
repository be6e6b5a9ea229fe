"""CPU runtimes side by side: ONNX Runtime FP32 vs OpenVINO FP32/FP16/INT8 vs ncnn FP32/FP16, at 640 and 320.

1. ``edgekit.export`` builds every leg of the default detector at each size, gated against the FP32 source on the
   labelled photos (``--generated`` composites on top; 0 keeps the gates short), so each row carries its mAP50-95
   and its drop against FP32 (ONNX Runtime FP32 is the source itself).
2. Per size, every model runs raw ``infer`` on the same letterboxed photo, interleaved run by run after a warm-up,
   with the same thread count: p50/p90/p99 each and the p50 speed-up over ONNX Runtime FP32. The CPU's flags and the
   load average before and after are written beside them (``device_state``).

Usage: python -m benchmarks.runtimes_bench [--sizes 640 320] [--threads 2] [--runs 20]
       [--out benchmarks/results/runtimes.json]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import time
from pathlib import Path
from typing import Any

import cv2

from benchmarks.lib.interleave import interleaved_ms
from edgekit.backends import BackendOptions, open_backend
from edgekit.device.state import DeviceState, bracket
from edgekit.export import ExportOptions, export
from edgekit.export.report import ExportReport
from edgekit.timing import percentiles
from edgekit.vision.preprocess import letterbox

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEKIT_SHARED", REPO.parent / "shared"))
LEGS = (("onnx", "fp32"), ("openvino", "fp32"), ("openvino", "fp16"), ("openvino", "int8"), ("ncnn", "fp32"),
        ("ncnn", "fp16"))
RUNTIME = {"onnx": "onnxruntime", "openvino": "openvino", "ncnn": "ncnn"}


def _gate(rep: ExportReport, seconds: float) -> dict[str, Any]:
    return {
        "passed": rep.passed, "map_drop": rep.map_drop, "max_map_drop": rep.max_map_drop,
        "map50_95": rep.accuracy.map50_95 if rep.accuracy else None,
        "source_map50_95": rep.source_accuracy.map50_95 if rep.source_accuracy else None,
        "box_recall": rep.parity.get("box_recall"), "validation_images": rep.validation.images if rep.validation
        else None, "export_s": round(seconds, 1), "artifact": rep.artifact,
    }


def exports(args: argparse.Namespace, size: int) -> tuple[dict[str, Path], dict[str, Any]]:
    """Every leg at ``size``, gated: model file and gate result per ``runtime-precision`` name."""
    files: dict[str, Path] = {}
    gates: dict[str, Any] = {}
    for target, precision in LEGS:
        name = f"{RUNTIME[target]}-{precision}"
        t0 = time.perf_counter()
        rep = export(args.model, ExportOptions(target=target, precision=precision, imgsz=size, val=args.val,
                                               generated=args.generated, out=args.work / str(size)))
        gates[name] = _gate(rep, time.perf_counter() - t0)
        if rep.passed is not False and rep.artifact:
            files[name] = Path(rep.artifact)
    return files, gates


def measure(files: dict[str, Path], size: int, args: argparse.Namespace) -> dict[str, Any]:
    """Interleaved raw ``infer`` timings of every model on one photo, with the CPU state around them."""
    before = DeviceState.capture()
    opts = BackendOptions(threads=args.threads)
    backends = {name: open_backend(path, opts) for name, path in files.items()}
    x, _ = letterbox(cv2.imread(str(args.val / "images" / "bus.jpg")), (size, size))
    times = interleaved_ms(backends, x, args.warmup, args.runs)
    after = DeviceState.capture()
    lat = {k: percentiles(v) for k, v in times.items()}
    base = lat["onnxruntime-fp32"]["p50"]
    out = {
        "input": [1, 3, size, size],
        "backends": {name: be.name for name, be in backends.items()},
        "latency_ms": lat,
        "speedup_p50_vs_ort_fp32": {k: round(base / v["p50"], 2) for k, v in lat.items()},
        "device_state": bracket(before, after),
    }
    for be in backends.values():
        be.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "yolov8s-fall.onnx")
    ap.add_argument("--val", type=Path, default=SHARED / "data")
    ap.add_argument("--sizes", type=int, nargs="+", default=[640, 320])
    ap.add_argument("--generated", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--work", type=Path, default=REPO / "export-out" / "runtimes-bench")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "runtimes.json")
    args = ap.parse_args()

    result: dict[str, Any] = {
        "benchmark": "cpu_runtimes",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "versions": {p: importlib.metadata.version(p) for p in ("onnxruntime", "openvino", "nncf", "ncnn", "pnnx")},
        "threads": args.threads, "runs": args.runs, "warmup": args.warmup, "generated": args.generated,
        "sizes": {},
    }
    for size in args.sizes:
        files, gates = exports(args, size)
        result["sizes"][str(size)] = {"gate": gates, **measure(files, size, args)}
        row = result["sizes"][str(size)]
        print(size, {k: v["p50"] for k, v in row["latency_ms"].items()}, row["speedup_p50_vs_ort_fp32"], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
