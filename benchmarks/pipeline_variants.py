"""Where the pipeline's share of raw inference goes: variants measured side by side, interleaved, in one run.

Every variant runs the same ONNX file, threads and video. Rounds alternate the variants (A B C … A B C …) so
background load hits them alike, and the best round of each is kept.

  raw            ``InferenceSession.run`` on one pre-processed tensor, ORT defaults (spinning on): the ceiling
  raw-nospin     the same with intra-op spinning off (reference only: a slower raw is no win)
  pipeline       edgekit's ``detect_stream`` as configured now (capture thread decodes + letterboxes ahead)
  pipe-cv1       the same with OpenCV's own thread pool at 1 and FFmpeg decoding on 1 thread, so the capture
                 thread does not fan out over the two cores ONNX Runtime is using
  pipe-idle      pipe-cv1 with the capture thread at idle priority (SCHED_IDLE): decoding only takes the cycles
                 inference leaves
  pipe-idle-nospin  pipe-idle with ONNX Runtime's intra-op spinning off, so inference leaves more cycles
  serial         decode → pre → infer → post in one thread, nothing overlapped
  ultralytics    Ultralytics ``predict(stream=True)`` via benchmarks/ultralytics_peer.py (when its Python is given)

Usage: python benchmarks/pipeline_variants.py --model models/yolov8s-fall.onnx --frames 120 --out results/x.json
On a machine with more cores, pin it to two: ``taskset -c 0,1 python benchmarks/pipeline_variants.py …``.
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
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "yolov8s-fall.onnx"))
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma-separated variants to leave out (e.g. pipe-idle)")
    ap.add_argument("--peer-python", default=str(REPO / ".venv-peer" / "bin" / "python"))
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pipeline_variants.json")
    args = ap.parse_args()

    import cv2
    import onnxruntime as ort

    from edgekit.bench.measure import bench_pipeline
    from edgekit.device.state import DeviceState, bracket
    from edgekit.sources import VideoSource, make_synthetic_video
    from edgekit.sources.synthetic import SyntheticScene
    from edgekit.timing import percentiles
    from edgekit.vision.detector import Detector

    before = DeviceState.capture()
    det = Detector.load(args.model, "desktop", threads=args.threads)
    det_nospin = Detector.load(args.model, "desktop", threads=args.threads)
    det_nospin.backend.close()
    from edgekit.backends import BackendOptions, open_backend

    det_nospin.backend = open_backend(
        args.model, BackendOptions(threads=args.threads, extra={"session.intra_op.allow_spinning": "0"})
    )
    img = SyntheticScene.random(0).render(1.0)[0]
    tensor, _ = det.preprocess(img)
    default_cv_threads = cv2.getNumThreads()

    def session(spin: bool) -> Any:
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
        if not spin:
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])

    sessions = {"raw": session(True), "raw-nospin": session(False)}
    name = sessions["raw"].get_inputs()[0].name

    def raw(kind: str) -> dict[str, Any]:
        s = sessions[kind]
        for _ in range(args.warmup):
            s.run(None, {name: tensor})
        ms = []
        for _ in range(args.frames):
            t0 = time.perf_counter_ns()
            s.run(None, {name: tensor})
            ms.append((time.perf_counter_ns() - t0) / 1e6)
        return {"fps": round(1000 * len(ms) / sum(ms), 2), "latency_ms": percentiles(ms)}

    def serial(clip: Path) -> dict[str, Any]:
        src = VideoSource(clip)
        n, t_start = 0, 0.0
        while (frame := src.read()) is not None and n < args.frames + args.warmup:
            det.detect(frame.image)
            n += 1
            if n == args.warmup:
                t_start = time.perf_counter()
        src.close()
        timed = n - args.warmup
        return {"fps": round(timed / (time.perf_counter() - t_start), 2), "frames": timed}

    def pipe(clip: Path, cv1: bool, background: bool = False, d: Detector = det) -> dict[str, Any]:
        if cv1:
            cv2.setNumThreads(1)
            os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "threads;1"
        try:
            r = bench_pipeline(d, clip, args.warmup, args.frames + args.warmup, background=background)
        finally:
            cv2.setNumThreads(default_cv_threads)
            os.environ.pop("OPENCV_FFMPEG_CAPTURE_OPTIONS", None)
        r.pop("frame_done_s", None)
        return r

    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_synthetic_video(Path(tmp) / "walk.mp4", seconds=(args.frames + args.warmup) / 15 + 1, fps=15)
        for _ in range(args.rounds):
            variants = {
                "raw": lambda: raw("raw"),
                "raw-nospin": lambda: raw("raw-nospin"),
                "pipeline": lambda: pipe(clip, cv1=False),
                "pipe-cv1": lambda: pipe(clip, cv1=True),
                "pipe-idle": lambda: pipe(clip, cv1=True, background=True),
                "pipe-idle-nospin": lambda: pipe(clip, cv1=True, background=True, d=det_nospin),
                "serial": lambda: serial(clip),
                "ultralytics": lambda: _peer(args, clip, Path(tmp) / "peer.json", det.input_hw[0]),
            }
            skip = set(filter(None, args.skip.split(",")))
            rounds.append({k: fn() for k, fn in variants.items() if k not in skip})
            print(json.dumps({k: (v or {}).get("fps") for k, v in rounds[-1].items()}), file=sys.stderr)
    best = {k: max((r[k] for r in rounds if r[k]), key=lambda x: x["fps"], default=None) for k in rounds[0]}
    raw_fps = best["raw"]["fps"]
    ratios = {f"{k}/raw": round(v["fps"] / raw_fps, 3) for k, v in best.items() if v and k != "raw"}
    if best["ultralytics"]:
        for k in [k for k in ("pipeline", "pipe-cv1", "pipe-idle", "pipe-idle-nospin", "serial") if best.get(k)]:
            ratios[f"{k}/ultralytics"] = round(best[k]["fps"] / best["ultralytics"]["fps"], 3)
    result = {
        "model": args.model,
        "input": list(det.input_hw),
        "threads": args.threads,
        "frames": args.frames,
        "rounds": rounds,
        "best": best,
        "ratios": ratios,
        "device_state": bracket(before, DeviceState.capture()),
        "affinity": sorted(os.sched_getaffinity(0)),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({"ratios": ratios, "fps": {k: (v or {}).get("fps") for k, v in best.items()}}, indent=2))


def _peer(args: argparse.Namespace, clip: Path, out: Path, imgsz: int) -> dict[str, Any] | None:
    if not Path(args.peer_python).exists():
        return None
    cmd = [args.peer_python, str(REPO / "benchmarks" / "ultralytics_peer.py"), "--model", args.model,
           "--video", str(clip), "--imgsz", str(imgsz), "--threads", str(args.threads), "--warmup",
           str(args.warmup), "--json", str(out), "--max-frames", str(args.frames + args.warmup)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if res.returncode != 0:
        print(f"ultralytics peer failed: {res.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    data = json.loads(out.read_text())
    return {"fps": data["fps_end_to_end"], "stages_ms": data.get("stages_ms") or data.get("speed_ms")}


if __name__ == "__main__":
    main()
