"""Paired check of a tune result: ONNX Runtime FP32 (the baseline) and the tuned plan, in alternating blocks of the
same camera-worker measurement ``edgekit tune`` makes, in one run.

``edgekit tune`` measures its trials one after another, minutes apart; on a shared machine whose load drifts, the
ratio of two such figures is partly the drift. Here both detectors stay open and each round times one block of
each (in a rotating order), so every round's ratio compares blocks measured moments apart; the median is reported.

    EDGEKIT_PLANS=... EDGEKIT_CACHE=... python -m benchmarks.tune_paired --plan PLAN.json --rounds 3 --frames 12
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from edgekit.bench.tune import open_trial
from edgekit.bench.tune_measure import measure_pipeline, tune_video
from edgekit.bench.tune_trials import Trial
from edgekit.device.cpu import host_cpu
from edgekit.device.modelcards import resolve_model
from edgekit.device.profiles import load_profile
from edgekit.device.tuned import read_plan
from edgekit.paths import cache_dir

OUT = Path(__file__).resolve().parent / "results" / "tune_paired.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", type=Path, required=True, help="a plan file written by edgekit tune")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--frames", type=int, default=12, help="frames timed per block")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    plan = read_plan(args.plan)
    prof = load_profile(plan.profile)
    card, model = resolve_model(plan.model)
    assert card is not None
    base = Trial("onnxruntime", "fp32", prof.runtime.imgsz, plan.threads, True)
    won = Trial(plan.runtime, plan.precision, plan.imgsz, plan.threads, plan.spinning)
    dets = {"baseline": open_trial(base, model, card, prof), "plan": open_trial(won, Path(plan.artifact), card, prof)}
    video = tune_video(cache_dir() / "tune", args.frames + args.warmup)
    load_before = os.getloadavg()
    rounds = []
    for i in range(args.rounds):
        order = list(dets) if i % 2 == 0 else list(reversed(dets))
        fps = {name: measure_pipeline(dets[name], video, args.warmup)["fps"] for name in order}
        rounds.append({**fps, "ratio": round(fps["plan"] / fps["baseline"], 3), "load": os.getloadavg()[0]})
        print(json.dumps(rounds[-1]))
    cpu = host_cpu()
    result = {
        "what": "tuned plan vs ONNX Runtime FP32, pipeline FPS in alternating blocks",
        "plan": plan.model_dump(mode="json"), "baseline": base.label, "tuned": won.label,
        "cpu": cpu.name, "flags": sorted(f for f in cpu.flags if f.startswith(("avx", "amx", "fma", "f16c"))),
        "load_before": load_before, "load_after": os.getloadavg(), "rounds": rounds,
        "median_ratio": round(statistics.median(r["ratio"] for r in rounds), 3),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("baseline", "tuned", "median_ratio", "load_before", "load_after")}))


if __name__ == "__main__":
    main()
