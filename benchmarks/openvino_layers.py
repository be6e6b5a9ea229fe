"""Where INT8's speed-up stops on this CPU: OpenVINO's own per-layer times of the FP32 and the INT8 IR, side by side.

Both IRs are the ones ``edgekit tune`` measures (``edgekit.export``, gated and cached: a re-run converts nothing).
Each is compiled as the daemon's one-at-a-time plan (LATENCY hint, ``--threads``) with ``PERF_COUNT``, run on the
same letterboxed photo, interleaved call by call after a warm-up, and every layer's median time is kept. Each
convolution is matched by name across the two, with its multiply-accumulates (from the FP32 graph's shapes), the
kernel OpenVINO chose for it and the rate it reached in GMAC/s per thread. When the INT8 ÷ FP32 ratio of the big
convolutions is the same as the whole model's, the model is bound by the CPU's INT8 arithmetic, not by the float
layers, the re-orders or the head: no plan on the same model at the same size can do better than that ratio.

Usage: python -m benchmarks.openvino_layers [--threads 2] [--runs 10] [--top 12]
       [--out benchmarks/results/openvino_layers.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.backends.openvino import import_openvino
from edgekit.device.state import DeviceState, bracket
from edgekit.errors import EdgekitError
from edgekit.export import ExportOptions, export, valset
from edgekit.sources.files import read_image
from edgekit.vision.preprocess import letterbox

REPO = Path(__file__).resolve().parents[1]


def conv_macs(model: Any) -> dict[str, int]:
    """Multiply-accumulates of each Convolution (friendly name) of an OpenVINO model with static shapes."""
    out: dict[str, int] = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() not in ("Convolution", "GroupConvolution"):
            continue
        w = list(op.input_value(1).get_partial_shape().to_shape())
        o = list(op.output(0).get_partial_shape().to_shape())
        per_out = int(np.prod(w[1:])) if op.get_type_name() == "Convolution" else int(np.prod(w[2:]))
        out[op.get_friendly_name()] = int(np.prod(o)) * per_out
    return out


def profile(core: Any, models: dict[str, Any], x: np.ndarray, threads: int, warmup: int,
            runs: int) -> dict[str, Any]:
    """Per model (read by ``core``): median wall ms per call, and each layer's median ms with its type and kernel."""
    reqs = {}
    for name, model in models.items():
        compiled = core.compile_model(model, "CPU", {
            "PERF_COUNT": True, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads})
        reqs[name] = compiled.create_infer_request()
    for _ in range(warmup):
        for r in reqs.values():
            r.infer({0: x})
    wall: dict[str, list[float]] = defaultdict(list)
    layers: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in models}
    kinds: dict[str, dict[str, tuple[str, str]]] = {n: {} for n in models}
    for _ in range(runs):
        for name, r in reqs.items():
            t = time.perf_counter_ns()
            r.infer({0: x})
            wall[name].append((time.perf_counter_ns() - t) / 1e6)
            for p in r.profiling_info:
                layers[name][p.node_name].append(p.real_time.total_seconds() * 1e3)
                kinds[name][p.node_name] = (p.node_type, p.exec_type)
    return {name: {"ms": statistics.median(wall[name]),
                   "layers": {k: (statistics.median(v), *kinds[name][k]) for k, v in layers[name].items()}}
            for name in models}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "yolov8s-fall.onnx")
    ap.add_argument("--image", type=Path, default=REPO.parent / "shared" / "data" / "images" / "bus.jpg")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--top", type=int, default=12, help="the slowest INT8 convolutions to list")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "openvino_layers.json")
    args = ap.parse_args()

    x, _ = letterbox(read_image(args.image), (640, 640))  # a bad path fails before the exports
    before = DeviceState.capture()
    # the IRs tune measures: the same options, so the export cache hands them over
    opts = {p: ExportOptions(target="openvino", precision=p, imgsz=640, val=valset.SHIPPED) for p in ("fp32", "int8")}
    irs = {p: Path(export(args.model, o).artifact or "") for p, o in opts.items()}
    ov = import_openvino()
    core = ov.Core()
    models = {p: core.read_model(ir) for p, ir in irs.items()}
    macs = conv_macs(models["fp32"])
    prof = profile(core, models, x, args.threads, args.warmup, args.runs)
    after = DeviceState.capture()

    f32, i8 = prof["fp32"]["layers"], prof["int8"]["layers"]
    convs = [n for n in macs if n in f32 and n in i8]
    rows = sorted(({"layer": n, "gmac": round(macs[n] / 1e9, 3), "fp32_ms": round(f32[n][0], 2),
                    "int8_ms": round(i8[n][0], 2), "x": round(f32[n][0] / i8[n][0], 2) if i8[n][0] else None,
                    "fp32_kernel": f32[n][2], "int8_kernel": i8[n][2],
                    "int8_gmac_s_per_thread": round(macs[n] / 1e6 / i8[n][0] / args.threads, 1) if i8[n][0] else None}
                   for n in convs), key=lambda r: -r["int8_ms"])
    conv_f32 = sum(f32[n][0] for n in convs)
    conv_i8 = sum(i8[n][0] for n in convs)
    total_macs = sum(macs[n] for n in convs)
    other = {name: round(sum(v[0] for k, v in p["layers"].items() if k not in convs), 2) for name, p in prof.items()}
    result = {
        "benchmark": "openvino_layers",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "openvino": ov.__version__,
        "threads": args.threads, "runs": args.runs, "input": [1, 3, 640, 640],
        "artifacts": {k: str(v) for k, v in irs.items()},
        "wall_ms_per_call": {k: round(v["ms"], 1) for k, v in prof.items()},
        "x_int8_whole_model": round(prof["fp32"]["ms"] / prof["int8"]["ms"], 3),
        "convolutions": {"count": len(convs), "gmac": round(total_macs / 1e9, 2), "fp32_ms": round(conv_f32, 1),
                         "int8_ms": round(conv_i8, 1), "x_int8": round(conv_f32 / conv_i8, 3),
                         "gmac_s_per_thread": {"fp32": round(total_macs / 1e6 / conv_f32 / args.threads, 1),
                                               "int8": round(total_macs / 1e6 / conv_i8 / args.threads, 1)}},
        "other_layers_ms": other,
        "int8_kernels_ms": {f"{t}/{e}": round(sum(v[0] for v in i8.values() if (v[1], v[2]) == (t, e)), 2)
                            for t, e in sorted({(v[1], v[2]) for v in i8.values()})},
        "slowest_int8_convolutions": rows[:args.top],
        "device_state": bracket(before, after),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"whole model: FP32 {result['wall_ms_per_call']['fp32']} ms, INT8 {result['wall_ms_per_call']['int8']} ms "
          f"→ ×{result['x_int8_whole_model']}")
    c = result["convolutions"]
    print(f"{c['count']} convolutions, {c['gmac']} GMAC: FP32 {c['fp32_ms']} ms, INT8 {c['int8_ms']} ms "
          f"→ ×{c['x_int8']}"
          f" ({c['gmac_s_per_thread']['fp32']} → {c['gmac_s_per_thread']['int8']} GMAC/s per thread); other layers "
          f"{other['fp32']} / {other['int8']} ms")
    print(f"{'layer':58s} {'GMAC':>6s} {'FP32':>6s} {'INT8':>6s} {'×':>5s}  INT8 kernel")
    for r in rows[:args.top]:
        print(f"{r['layer'][:58]:58s} {r['gmac']:6.3f} {r['fp32_ms']:6.2f} {r['int8_ms']:6.2f} {r['x']:5.2f}  "
              f"{r['int8_kernel']}")
    print("load", before.load_avg, "→", after.load_avg, "flags", " ".join(before.flags))


if __name__ == "__main__":
    try:
        main()
    except EdgekitError as e:  # a bad image, a failed export: one line
        raise SystemExit(f"openvino_layers: {e}") from None
