"""OpenVINO (FP32, FP16 weights, BF16, INT8) vs ONNX Runtime FP32 on the default detector, side by side on this CPU.

1. ``edgekit.export`` builds each OpenVINO IR at the model's size (640), gated against the FP32 source on the
   labelled photos (``--generated`` composites on top; 0 keeps it to about a minute).
2. Every model runs raw ``infer`` on the same letterboxed photo, interleaved run by run after a warm-up, with the same
   thread count; p50/p90/p99 each and the p50 speed-up over ONNX Runtime FP32. The CPU's flags and load average
   before and after are written beside them (``device_state``), with the precision OpenVINO actually ran: BF16 is
   only BF16 on a CPU with AMX or AVX512-BF16 (elsewhere OpenVINO runs the BF16 IR in f32, and the row says so).
3. With ``--legs ...,int8``, the INT8 IR is also run as two streams of one thread each with two requests in flight
   (``streams: 2``: OpenVINO's THROUGHPUT hint, a request per stream): milliseconds per frame over blocks of
   ``--block`` frames, each block interleaved with a block of ONNX Runtime FP32 and of INT8 one request at a time.
   This is the most a pipelined daemon could get from INT8 on this CPU; it says whether a plan could reach a given
   × FP32 at all.

Usage: python -m benchmarks.openvino_bench [--threads 2] [--runs 30] [--legs fp32,fp16,bf16,int8]
       [--out benchmarks/results/openvino.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

import cv2

from benchmarks.lib.interleave import interleaved_ms
from edgekit.backends import BackendOptions, open_backend
from edgekit.backends.base import Pending, streams_of, submit
from edgekit.device.state import DeviceState, bracket
from edgekit.export import ExportOptions, export
from edgekit.timing import percentiles
from edgekit.vision.preprocess import letterbox

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEKIT_SHARED", REPO.parent / "shared"))
LEGS = "fp32,fp16,bf16"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "yolov8s-fall.onnx")
    ap.add_argument("--val", type=Path, default=SHARED / "data")
    ap.add_argument("--generated", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--legs", default=LEGS, help="OpenVINO precisions, comma-separated (fp32, fp16, bf16, int8)")
    ap.add_argument("--block", type=int, default=8, help="frames per throughput block (INT8 two streams)")
    ap.add_argument("--work", type=Path, default=REPO / "export-out" / "openvino-bench")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "openvino.json")
    args = ap.parse_args()

    before = DeviceState.capture()
    gates: dict[str, Any] = {}
    files: dict[str, Path] = {"onnxruntime-fp32": args.model}
    for leg in args.legs.split(","):
        t0 = time.perf_counter()
        rep = export(args.model, ExportOptions(target="openvino", precision=leg, val=args.val,
                                               generated=args.generated, out=args.work / leg, force=True))
        gates[f"openvino-{leg}"] = {
            "passed": rep.passed, "map_drop": rep.map_drop, "max_map_drop": rep.max_map_drop,
            "map50_95": rep.accuracy.map50_95 if rep.accuracy else None,
            "source_map50_95": rep.source_accuracy.map50_95 if rep.source_accuracy else None,
            "validation_images": rep.validation.images if rep.validation else None,
            "skipped": rep.skipped, "export_s": round(time.perf_counter() - t0, 1),
        }
        files[f"openvino-{leg}"] = Path(rep.artifact or "")
    opts = BackendOptions(threads=args.threads)
    backends = {name: open_backend(path, opts) for name, path in files.items()}
    x, _ = letterbox(cv2.imread(str(args.val / "images" / "bus.jpg")), (640, 640))
    times = interleaved_ms(backends, x, args.warmup, args.runs)
    streams = two_streams(files["openvino-int8"], backends, x, args) if "openvino-int8" in files else None
    after = DeviceState.capture()
    lat = {k: percentiles(v) for k, v in times.items()}
    base = lat["onnxruntime-fp32"]["p50"]
    result = {
        "benchmark": "openvino_vs_onnxruntime",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "versions": {"onnxruntime": __import__("onnxruntime").__version__,
                     "openvino": __import__("openvino").__version__},
        "threads": args.threads,
        "runs": args.runs,
        "warmup": args.warmup,
        "input": [1, 3, 640, 640],
        "backends": {name: be.name for name, be in backends.items()},
        "ran_as": {name: getattr(be, "precision", "fp32") for name, be in backends.items()},
        "latency_ms": lat,
        "speedup_p50_vs_ort_fp32": {k: round(base / v["p50"], 2) for k, v in lat.items()},
        "gate": gates,
        "int8_two_streams": streams,
        "device_state": bracket(before, after),
    }
    for be in backends.values():
        be.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("ran_as", "speedup_p50_vs_ort_fp32", "int8_two_streams")}, indent=1))
    print({k: v["p50"] for k, v in lat.items()}, "load", before.load_avg, after.load_avg)


def two_streams(ir: Path, backends: dict[str, Any], x: Any, args: argparse.Namespace) -> dict[str, Any]:
    """ms per frame of the INT8 IR as two single-thread streams with two requests in flight (the backend as the
    daemon opens it with ``streams: 2``, fed the way its camera loop feeds it), against ONNX Runtime FP32 and INT8
    one request at a time, block by block (``args.runs // 4`` rounds of ``args.block`` frames)."""
    two = open_backend(ir, BackendOptions(threads=args.threads, streams=2), "openvino")

    def streamed() -> None:
        in_flight: deque[Pending] = deque()
        for _ in range(args.block):
            in_flight.append(submit(two, [x]))
            if len(in_flight) >= streams_of(two):  # the oldest is waited for before a third starts
                in_flight.popleft()()
        while in_flight:
            in_flight.popleft()()

    def one_by_one(name: str) -> None:
        for _ in range(args.block):
            backends[name].infer([x])

    runs = {"onnxruntime-fp32": lambda: one_by_one("onnxruntime-fp32"),
            "openvino-int8": lambda: one_by_one("openvino-int8"), "openvino-int8-2streams": streamed}
    ms: dict[str, list[float]] = {k: [] for k in runs}
    streamed()
    for _ in range(max(2, args.runs // 4)):
        for name, fn in runs.items():
            t = time.perf_counter()
            fn()
            ms[name].append((time.perf_counter() - t) * 1000 / args.block)
    streams = streams_of(two)
    two.close()
    med = {k: round(sorted(v)[len(v) // 2], 1) for k, v in ms.items()}
    return {"streams": streams, "block": args.block, "ms_per_frame_median": med,
            "x_ort_fp32": {k: round(med["onnxruntime-fp32"] / v, 3) for k, v in med.items()}}


if __name__ == "__main__":
    main()
