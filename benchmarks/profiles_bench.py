"""Per-profile table on this machine, emulated: for each device profile, what its plan runs here (after
`edgekit export --profile P`), its latency p50/p99 and mAP50-95 on the shared validation data, against FP32@640.

The boards' accelerators are not here: TensorRT profiles run their gated FP16 ONNX on ONNX Runtime CPU, Coral
profiles their gated full-INT8 TFLite on LiteRT CPU. Latency is therefore this host's, not the board's; the load
average and CPU flags are recorded beside it.

Usage: EDGEKIT_CACHE=DIR .venv/bin/python -m benchmarks.profiles_bench [--export] [--runs 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROFILES = ["desktop", "rpi4", "rpi5", "jetson-nano", "jetson-orin-nano", "coral-usb", "coral-devboard"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", action="store_true", help="run `edgekit export --profile P` first")
    ap.add_argument("--profiles", nargs="*", default=PROFILES)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--val", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "profiles.json")
    args = ap.parse_args()

    from edgekit.bench.measure import bench_detect
    from edgekit.export import evaluate, valset
    from edgekit.sources.synthetic import SyntheticScene
    from edgekit.vision.detector import Detector

    samples = valset.load_folder(args.val)
    img = SyntheticScene.random(0).render(1.0)[0]
    rows = []
    for name in args.profiles:
        if args.export and name != "desktop":
            subprocess.run([sys.executable, "-m", "edgekit.cli.main", "export", "--profile", name], check=True)
        det = Detector.load(profile=name, threads=args.threads)
        plan = det.plan.to_dict() if det.plan else {}
        lat = bench_detect(det, img, args.warmup, args.runs)["latency_ms"]
        det.close()
        box_scale = float(plan["imgsz"]) if str(plan["model"]).endswith(".tflite") else 1.0
        run = evaluate.run_model(Path(str(plan["model"])), samples, threads=args.threads, box_scale=box_scale)
        acc = evaluate.coco_map(samples, run.dets)
        rows.append(
            {
                "profile": name,
                "runs_here": f"{plan['backend']} ({plan['provider']})",
                "imgsz": plan["imgsz"],
                "precision": plan["precision"],
                "model": Path(str(plan["model"])).name,
                "p50_ms": lat["p50"],
                "p99_ms": lat["p99"],
                "map50_95": acc["map50_95"],
                "map50": acc["map50"],
                "substitutions": plan["substitutions"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    flags = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")][:1]
    result = {
        "benchmark": "profiles_emulated",
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "cpu_flags": [f for f in (flags[0].split() if flags else []) if f.startswith(("avx", "amx"))],
        "threads": args.threads,
        "runs": args.runs,
        "val": f"{args.val} (7 photos, 8 hand-drawn boxes; class-agnostic)",
        "cache": os.environ.get("EDGEKIT_CACHE", ""),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
