"""INT8 with 8-bit vs 7-bit weights against FP32, side by side on this CPU, with the CPU's flags beside them.

x86 CPUs without VNNI multiply u8×s8 pairwise into saturating int16 (``vpmaddubsw``), so ONNX Runtime's INT8 needs
7-bit weights there (``reduce_range``); with VNNI (``vpdpbusd``, 32-bit accumulation) full 8-bit weights are safe
and ONNX Runtime takes its faster kernels. This script quantizes the detector both ways (decode tail in float, as
the export does), times FP32 / INT8-7 / INT8-8 interleaved, and measures each INT8 model's parity with FP32 on
the same frames (max score difference on the anchors FP32 is confident about, and how many of FP32's
detections are found again).

Usage: python benchmarks/int8_vnni.py [--model models/yolov8s-fall.onnx] [--threads 2] [--out results/int8.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "yolov8s-fall.onnx")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--calib", type=int, default=24, help="synthetic calibration frames")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "int8_vnni.json")
    args = ap.parse_args()

    import numpy as np
    import onnxruntime as ort

    from edgekit.device.state import DeviceState, bracket
    from edgekit.export.quantize import decode_tail_nodes, preprocess, quantize_onnx
    from edgekit.sources.synthetic import SyntheticScene
    from edgekit.timing import percentiles
    from edgekit.vision.preprocess import letterbox

    before = DeviceState.capture()
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
    probe = ort.InferenceSession(str(args.model), so, providers=["CPUExecutionProvider"])
    inp = probe.get_inputs()[0]
    size = int(inp.shape[2])
    frames = [SyntheticScene.random(i).render(1.0)[0] for i in range(args.calib + 8)]
    tensors = np.stack([letterbox(f, (size, size))[0][0] for f in frames])
    calib, test = tensors[: args.calib], tensors[args.calib :]

    with tempfile.TemporaryDirectory() as tmp:
        pre = preprocess(args.model, Path(tmp) / "pre.onnx")
        tail = decode_tail_nodes(pre)
        models = {"fp32": args.model}
        t_quant: dict[str, float] = {}
        for name, rr in (("int8-7bit", True), ("int8-8bit", False)):
            t0 = time.perf_counter()
            models[name] = quantize_onnx(pre, Path(tmp) / f"{name}.onnx", inp.name, calib, exclude=tail,
                                         reduce_range=rr)
            t_quant[name] = round(time.perf_counter() - t0, 1)
        sessions = {k: ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"]) for k, p in models.items()}
        outs = {k: [s.run(None, {inp.name: t[None]})[0] for t in test] for k, s in sessions.items()}
        ms: dict[str, list[float]] = {k: [] for k in sessions}
        for _ in range(3):
            for s in sessions.values():
                s.run(None, {inp.name: test[0][None]})
        for i in range(args.runs // 5):  # interleaved in blocks: background load hits every variant alike
            for k, s in sessions.items():
                for j in range(6):  # the first run of a block competes with the last session's spinning threads
                    t0 = time.perf_counter_ns()
                    s.run(None, {inp.name: test[(i + j) % len(test)][None]})
                    if j:
                        ms[k].append((time.perf_counter_ns() - t0) / 1e6)

    result: dict[str, Any] = {"model": str(args.model), "imgsz": size, "threads": args.threads, "variants": {}}
    fp32_ms = percentiles(ms["fp32"])["p50"]
    for k in sessions:
        lat = percentiles(ms[k])
        row: dict[str, Any] = {"latency_ms": lat, "speedup_vs_fp32": round(fp32_ms / lat["p50"], 3)}
        if k != "fp32":
            row["quantize_s"] = t_quant[k]
            row["parity"] = _parity(outs["fp32"], outs[k])
        result["variants"][k] = row
    result["device_state"] = bracket(before, DeviceState.capture())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: {"p50": v["latency_ms"]["p50"], "x": v["speedup_vs_fp32"], "parity": v.get("parity")}
                      for k, v in result["variants"].items()}, indent=2))


def _parity(ref: list[Any], got: list[Any], conf: float = 0.25) -> dict[str, float]:
    """Score error on FP32's confident anchors, and the share of those anchors still above ``conf``."""
    import numpy as np

    r = np.concatenate([o[0, 4:].max(axis=0) for o in ref])
    g = np.concatenate([o[0, 4:].max(axis=0) for o in got])
    keep = r >= conf
    if not keep.any():
        return {"max_score_diff": 0.0, "kept": 1.0}
    return {"max_score_diff": round(float(np.abs(r[keep] - g[keep]).max()), 4),
            "kept": round(float((g[keep] >= conf).mean()), 4)}


if __name__ == "__main__":
    main()
