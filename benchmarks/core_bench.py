"""Side-by-side detection benchmark of the default model, in one run on one machine.

Measures, on the same ONNX file, threads and video:
  1. raw ``onnxruntime.InferenceSession.run`` on a pre-processed tensor (the ceiling),
  2. edgekit's per-frame ``Detector.detect`` (pre → infer → post),
  3. edgekit's video pipeline (decode → detect, decoding and letterbox overlapped on the capture thread),
  4. Ultralytics ``predict(stream=True)`` on the same ONNX and video (peer venv from scripts/make_peer_venv.sh).

Usage: .venv/bin/python -m benchmarks.core_bench [--frames 150] [--threads 2] [--out benchmarks/results/core.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "yolov8s-fall.onnx"))
    ap.add_argument("--frames", type=int, default=150, help="timed frames of the video runs")
    ap.add_argument("--runs", type=int, default=100, help="timed runs of the single-image runs")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peer-python", default=str(REPO / ".venv-peer" / "bin" / "python"))
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "core.json")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import numpy as np
    import onnxruntime as ort

    from edgekit.bench.measure import bench_detect, bench_pipeline
    from edgekit.device.host import probe_host
    from edgekit.sources import make_synthetic_video
    from edgekit.sources.synthetic import SyntheticScene
    from edgekit.timing import percentiles
    from edgekit.vision.detector import Detector

    det = Detector.load(args.model, "desktop", threads=args.threads)
    img = SyntheticScene.random(0).render(1.0)[0]
    tensor, _ = det.preprocess(img)

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def raw_once() -> None:
        sess.run(None, {name: tensor})

    results: dict[str, object] = {
        "host": probe_host().to_dict(),
        "model": args.model,
        "threads": args.threads,
    }
    with tempfile.TemporaryDirectory() as tmp:
        seconds = (args.frames + args.warmup) / 15
        clip = make_synthetic_video(Path(tmp) / "walk.mp4", seconds=seconds, fps=15, seed=0)
        # Interleave the measurements twice (A B C D A B C D) so background load hits every one alike.
        rounds = []
        for _ in range(2):
            for _ in range(args.warmup):
                raw_once()
            ms = []
            for _ in range(args.runs):
                t0 = time.perf_counter_ns()
                raw_once()
                ms.append((time.perf_counter_ns() - t0) / 1e6)
            raw = {"latency_ms": percentiles(ms), "fps": round(1000 * len(ms) / sum(ms), 2)}
            detect = bench_detect(det, img, args.warmup, args.runs)
            pipe = bench_pipeline(det, clip, args.warmup, args.frames + args.warmup)
            peer = _peer(args, clip, Path(tmp) / "peer.json")
            rounds.append({"raw": raw, "detect": detect, "pipeline": pipe, "ultralytics": peer})
    best = {k: max((r[k] for r in rounds if r[k]), key=lambda x: x["fps"], default=None) for k in rounds[0]}
    results["rounds"] = rounds
    results["best"] = best
    ratios = {
        "detect/raw": round(best["detect"]["fps"] / best["raw"]["fps"], 3),
        "pipeline/raw": round(best["pipeline"]["fps"] / best["raw"]["fps"], 3),
    }
    if best["ultralytics"]:
        ratios["edgekit_pipeline/ultralytics"] = round(
            best["pipeline"]["fps"] / best["ultralytics"]["fps"], 3
        )
    results["ratios"] = ratios
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps({"ratios": ratios, **{k: (v or {}).get("fps") for k, v in best.items()}}, indent=2))
    del np


def _peer(args: argparse.Namespace, clip: Path, out: Path) -> dict[str, object] | None:
    if not Path(args.peer_python).exists():
        print("peer venv missing (bash scripts/make_peer_venv.sh): Ultralytics not measured", file=sys.stderr)
        return None
    cmd = [
        args.peer_python,
        str(REPO / "benchmarks" / "ultralytics_peer.py"),
        "--model",
        args.model,
        "--video",
        str(clip),
        "--threads",
        str(args.threads),
        "--warmup",
        str(args.warmup),
        "--json",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO)
    data = json.loads(out.read_text())
    return {"fps": data["fps_end_to_end"], "raw": data}


if __name__ == "__main__":
    main()
