"""Where one frame's time goes outside inference: read (decode + BGR), letterbox, post-process, per frame, in line.

Runs the detector as ``Detector.load`` opens it over a synthetic 720p walk and prints the median and mean of each
stage. Run it from two checkouts (``PYTHONPATH=<tree>``) for a before/after of the pre/post code; the stages are
single-threaded and short, so they move far less with the machine's load than whole-frame FPS does.

Usage: python benchmarks/frame_stages.py --model models/yolov8s-fall.onnx --frames 200 --out results/x.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "yolov8s-fall.onnx"))
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--label", default="")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    import edgekit
    from edgekit.device.state import DeviceState, bracket
    from edgekit.sources import VideoSource, make_synthetic_video
    from edgekit.vision.detector import Detector

    before = DeviceState.capture()
    det = Detector.load(args.model, "desktop", threads=args.threads)
    stages: dict[str, list[float]] = {k: [] for k in ("read", "pre", "infer", "post", "frame")}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_synthetic_video(Path(tmp) / "walk.mp4", seconds=args.frames / 15 + 2, fps=15)
        src = VideoSource(clip)
        for i in range(args.frames + 10):
            t0 = time.perf_counter()
            frame = src.read()
            if frame is None:
                break
            t1 = time.perf_counter()
            tensor, info = det.preprocess(frame.image)
            t2 = time.perf_counter()
            out = det.backend.infer([tensor])
            t3 = time.perf_counter()
            det.postprocess(out, info)
            t4 = time.perf_counter()
            if i >= 10:  # warm-up
                for k, v in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0), strict=True):
                    stages[k].append(1000 * v)
        src.close()
    summary = {k: {"p50": round(statistics.median(v), 3), "mean": round(statistics.fmean(v), 3)}
               for k, v in stages.items()}
    result = {"label": args.label, "edgekit": str(Path(edgekit.__file__).parent), "model": args.model,
              "input": list(det.input_hw), "threads": args.threads, "frames": len(stages["frame"]),
              "stages_ms": summary, "device_state": bracket(before, DeviceState.capture())}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({"label": args.label, "input": result["input"], "stages_ms": summary}))


if __name__ == "__main__":
    main()
