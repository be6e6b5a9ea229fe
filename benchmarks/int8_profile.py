"""Where INT8 time goes: ONNX Runtime's profiler on FP32 and INT8 variants, time summed by op type.

Each variant is a quantization recipe (``--variants``); the script quantizes them on the export's own calibration
frames (the calibration half of ``--val`` plus composites, as ``edgekit export --precision int8`` does), profiles
each with ``SessionOptions.enable_profiling`` and times them interleaved with FP32 in blocks: one session's
run right after another's shares the 2 cores with the other session's still-spinning pool threads (ONNX Runtime's
default), which inflated both and pulled the INT8 ratio down (1.87× per-run interleaved vs 2.28× in blocks, same
models), so each block's first run is not counted. With ``--gate`` it also scores
each variant's mAP50-95 against FP32 on the validation half, as the export's gate does.

Usage: python benchmarks/int8_profile.py [--variants current,vnni] [--gate] [--out results/int8_profile.json]
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _profile(path: Path, x: Any, threads: int, runs: int, tmp: Path) -> dict[str, Any]:
    """Per-op-type time (ms per run) from ORT's profiler, and the optimized graph's op counts."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp / path.stem)
    so.optimized_model_filepath = str(tmp / f"{path.stem}.opt.onnx")
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    for _ in range(2 + runs):
        sess.run(None, {name: x})
    events = json.loads(Path(sess.end_profiling()).read_text())
    by_op: collections.Counter[str] = collections.Counter()
    by_node: collections.Counter[str] = collections.Counter()
    model_runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    first_timed = model_runs[2]["ts"] if len(model_runs) > 2 else 0
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time") or e["ts"] < first_timed:
            continue
        by_op[e["args"]["op_name"]] += e["dur"] / 1000 / runs
        by_node[e["name"][: -len("_kernel_time")]] += e["dur"] / 1000 / runs
    import onnx

    opt = onnx.load(so.optimized_model_filepath)
    counts = collections.Counter(n.op_type for n in opt.graph.node)
    total = sum(by_op.values())
    return {
        "kernel_ms": round(total, 2),
        "by_op_ms": {k: round(v, 2) for k, v in by_op.most_common()},
        "top_nodes_ms": {k: round(v, 2) for k, v in by_node.most_common(25)},
        "optimized_op_counts": dict(counts.most_common()),
    }


VARIANTS: dict[str, dict[str, Any]] = {
    # what the export ships today on a VNNI CPU (8-bit rung): QDQ, per-channel, u8 activations, s8 weights
    "current-7bit": {"reduce_range": True},
    "current-8bit": {"reduce_range": False},
    # calibration: the ranges decide the accuracy
    "entropy-8bit": {"reduce_range": False, "method": "entropy"},
    "percentile-8bit": {"reduce_range": False, "method": "percentile"},
    "percentile-7bit": {"reduce_range": True, "method": "percentile"},
    "movavg-8bit": {"reduce_range": False, "extra": {"CalibMovingAverage": True}},
    "movavg-7bit": {"reduce_range": True, "extra": {"CalibMovingAverage": True}},
    "head-movavg-7bit": {"reduce_range": True, "extra": {"CalibMovingAverage": True}, "float": "head"},
    "entropy-7bit": {"reduce_range": True, "method": "entropy"},
    "head-movavg-8bit": {"reduce_range": False, "extra": {"CalibMovingAverage": True}, "float": "head"},
    "head-percentile-8bit": {"reduce_range": False, "method": "percentile", "float": "head"},
    # SiLU (Sigmoid·Mul) left in float between DQ/Q pairs, where ORT can fuse it into one QuickGelu
    "silu-float": {"reduce_range": False, "op_types_drop": ["Sigmoid", "Mul"]},
    # only Conv quantized: every other op in float between DQ/Q pairs
    "conv-only": {"reduce_range": False, "op_types": ["Conv"]},
    # no per-channel
    "per-tensor": {"reduce_range": False, "per_channel": False},
    # symmetric activations (zero point 128 for u8)
    "act-sym": {"reduce_range": False, "extra": {"ActivationSymmetric": True}},
    # QOperator format (QLinearConv etc. written directly)
    "qoperator": {"reduce_range": False, "format": "qoperator"},
    # s8 activations
    "s8s8": {"reduce_range": False, "activation": "s8"},
}


def _op_types(v: dict[str, Any]) -> list[str] | None:
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    if "op_types_drop" in v:
        return sorted(set(QDQRegistry) | set(QLinearOpsRegistry) - set(v["op_types_drop"]))
    return v.get("op_types")


def _quantize(pre: Path, out: Path, input_name: str, calib: Any, exclude: list[str], v: dict[str, Any],
              cache: Path) -> Path:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from edgekit.export.calib import TensorReader
    from edgekit.export.quantize import calibration_method

    extra: dict[str, Any] = {"ActivationSymmetric": False, "WeightSymmetric": True, **v.get("extra", {})}
    method = v.get("method", "minmax")
    if method == "percentile":
        extra["CalibPercentile"] = 99.999
    quantize_static(
        str(pre),
        str(out),
        TensorReader(input_name, calib),
        quant_format=QuantFormat.QOperator if v.get("format") == "qoperator" else QuantFormat.QDQ,
        per_channel=v.get("per_channel", True),
        reduce_range=v.get("reduce_range", False),
        activation_type=QuantType.QInt8 if v.get("activation") == "s8" else QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=exclude,
        op_types_to_quantize=_op_types(v),
        extra_options=extra,
        calibrate_method=calibration_method(method),
        calibration_cache_path=str(cache.with_name(f"calib-{method}-{extra.get('CalibMovingAverage', 0)}.json")),
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "yolov8s-fall.onnx")
    ap.add_argument("--val", type=Path, default=REPO.parent.parent / "shared" / "data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=6, help="interleaved blocks per variant")
    ap.add_argument("--block", type=int, default=5, help="timed runs per block (after one untimed)")
    ap.add_argument("--prof-runs", type=int, default=5)
    ap.add_argument("--variants", default="current-8bit")
    ap.add_argument("--gate", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--keep", type=Path, help="folder to keep the quantized models in")
    ap.add_argument("--reuse", action="store_true", help="time the models already in --keep (no quantizing)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "int8_profile.json")
    args = ap.parse_args()

    import numpy as np
    import onnxruntime as ort

    from edgekit.device.state import DeviceState, bracket
    from edgekit.export import gate, quantize, valset
    from edgekit.export.source import open_source
    from edgekit.timing import percentiles
    from edgekit.vision.preprocess import letterbox

    before = DeviceState.capture()
    src = open_source(args.model)
    size = src.imgsz
    real = valset.load_folder(args.val)
    calib_real, val_real = valset.split(real)
    samples = val_real + valset.generate(val_real, n=24, seed=0)
    picked = calib_real + valset.generate(calib_real, n=24, seed=1000)
    calib = np.stack([letterbox(s.image, (size, size))[0][0] for s in picked])
    x = calib[:1]
    ref = gate.reference(args.model, samples, src.labels) if args.gate else None

    result: dict[str, Any] = {"model": str(args.model), "imgsz": size, "threads": args.threads,
                              "calibration_frames": len(calib), "variants": {}}
    if ref is not None:
        result["fp32_map50_95"] = ref.accuracy.map50_95
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(args.keep) if args.keep else Path(td)
        tmp.mkdir(parents=True, exist_ok=True)
        pre = tmp / "pre.onnx"
        if not (args.reuse and pre.is_file()):
            quantize.preprocess(args.model, pre)
        tail = quantize.decode_tail_nodes(pre)
        cache = tmp / "calibration.json"
        models: dict[str, Path] = {"fp32": args.model}
        for name in args.variants.split(","):
            v = VARIANTS[name]
            t0 = time.perf_counter()
            exclude = gate.head_nodes(pre) if v.get("float") == "head" else tail
            done = tmp / f"{name}.onnx"
            models[name] = done if args.reuse and done.is_file() else _quantize(
                pre, done, src.input_name, calib, exclude, v, cache)
            result["variants"][name] = {"recipe": v, "quantize_s": round(time.perf_counter() - t0, 1)}
            print(name, "quantized", flush=True)
        result["variants"].setdefault("fp32", {})
        for name, path in models.items():
            row = result["variants"][name]
            if ref is not None and name != "fp32":
                a = gate.score(ref, path, name, 1.0)
                row["map50_95"] = a.accuracy.map50_95 if a.accuracy else None
                row["map_drop"], row["passed"] = a.map_drop, a.passed
                print(name, "drop", a.map_drop, flush=True)
            if not args.no_profile:
                row["profile"] = _profile(path, x, args.threads, args.prof_runs, tmp)
                print(name, json.dumps(row["profile"]["by_op_ms"]), flush=True)
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
        sessions = {k: ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"]) for k, p in models.items()}
        ms: dict[str, list[float]] = {k: [] for k in sessions}
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        for s in sessions.values():
            for _ in range(2):
                s.run(None, {src.input_name: x})
        for _ in range(args.runs):
            for k, s in sessions.items():
                for j in range(1 + args.block):
                    t0 = time.perf_counter_ns()
                    s.run(None, {src.input_name: x})
                    if j:  # the first run of a block shares the cores with the last session's spinning threads
                        ms[k].append((time.perf_counter_ns() - t0) / 1e6)
        load_after = Path("/proc/loadavg").read_text().split()[:3]
    fp32 = percentiles(ms["fp32"])["p50"]
    blocks = {k: np.median(np.reshape(v, (args.runs, args.block)), axis=1) for k, v in ms.items()}
    for k, lat in ms.items():
        p = percentiles(lat)
        # paired: each round's FP32 block against the same round's block of this variant, seconds apart, so a
        # burst of other work on the shared cores mostly hits both sides of one ratio
        paired = round(float(np.median(blocks["fp32"] / blocks[k])), 3)
        result["variants"][k].update(latency_ms=p, speedup_vs_fp32=round(fp32 / p["p50"], 3), paired_speedup=paired)
    result["timing_loadavg"] = {"before": load_before, "after": load_after}
    result["device_state"] = bracket(before, DeviceState.capture())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: {"p50": v["latency_ms"]["p50"], "x": v["speedup_vs_fp32"], "paired": v["paired_speedup"],
                          "drop": v.get("map_drop")}
                      for k, v in result["variants"].items()}, indent=2))
    print("load", load_before, "->", load_after)


if __name__ == "__main__":
    main()
