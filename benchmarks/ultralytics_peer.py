"""Ultralytics ``predict(stream=True)`` on a video: the peer edgekit's video pipeline is compared against.

Runs in the peer venv (``scripts/make_peer_venv.sh``), stdlib + ultralytics only; it never imports edgekit::

    .venv-peer/bin/python benchmarks/ultralytics_peer.py --model models/yolov8s-fall.onnx \
        --video clip.mp4 --imgsz 640 --threads 2 --warmup 5 --json out.json

Measures, after ``--warmup`` frames: end-to-end FPS (decode + pre + inference + post, as the consumer of
the generator sees it) and Ultralytics' own per-frame stage times (``Results.speed``: preprocess / inference /
postprocess ms, mean and p50/p90/p99). Threads: OMP/MKL env vars and ``torch.set_num_threads`` before the
model loads, and ONNX Runtime's intra-op pool (Ultralytics creates its InferenceSession with default options,
one thread per physical core, so the options are filled in here; nothing else about Ultralytics changes).
Ultralytics decodes video frames serially on the CPU (its prefetch thread is used only on CUDA/OpenVINO).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="ONNX model (or anything YOLO() loads)")
    ap.add_argument("--video", type=Path, required=True)
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=5, help="frames excluded from all statistics")
    ap.add_argument("--conf", type=float, default=0.25)
    ap.add_argument("--iou", type=float, default=0.7)
    ap.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: whole video)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here (also printed)")
    ap.add_argument("--serve", action="store_true",
                    help="time blocks on request: each stdin line N takes N + 1 frames and prints the seconds the "
                         "last N took (for benchmarks/pipeline_paired.py)")
    return ap.parse_args()


def _pct(values: list[float], q: float) -> float:
    """Percentile with linear interpolation (numpy's default), stdlib only."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _summary(values: list[float]) -> dict[str, float]:
    n = len(values)
    mean = sum(values) / n if n else float("nan")
    return {"mean": round(mean, 3), **{f"p{q}": round(_pct(values, q), 3) for q in (50, 90, 99)}}


def main() -> int:
    a = _parse()
    if not a.model.is_file() or not a.video.is_file():
        print(f"error: missing file: {a.model if not a.model.is_file() else a.video}", file=sys.stderr)
        return 2
    if a.serve:  # the answers get stdout to themselves: Ultralytics logs to stdout, which then goes to stderr
        answers = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)
        sys.stdout = sys.stderr
    # Must precede the torch/onnxruntime imports: thread pools are sized when the libraries load.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    os.environ.setdefault("YOLO_OFFLINE", "1")  # no update checks or online probes during the measurement

    import cv2
    import onnxruntime
    import torch
    import ultralytics
    from ultralytics import YOLO

    torch.set_num_threads(a.threads)
    cv2.setNumThreads(a.threads)
    _orig_session = onnxruntime.InferenceSession

    def _session(path, sess_options=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        opts = sess_options or onnxruntime.SessionOptions()
        opts.intra_op_num_threads = a.threads
        opts.inter_op_num_threads = 1
        return _orig_session(path, opts, *args, **kwargs)

    onnxruntime.InferenceSession = _session  # type: ignore[assignment,misc]

    cap = cv2.VideoCapture(str(a.video))
    video = {
        "path": str(a.video),
        "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        "fps": cap.get(cv2.CAP_PROP_FPS),
        "frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
    }
    cap.release()

    load_before = os.getloadavg()
    t_load = time.perf_counter()
    model = YOLO(str(a.model), task="detect")
    stream = model.predict(
        str(a.video), stream=True, imgsz=a.imgsz, conf=a.conf, iou=a.iou, device="cpu", verbose=False
    )
    if a.serve:
        return serve_blocks(iter(stream), answers)
    stamps: list[float] = []
    pre: list[float] = []
    inf: list[float] = []
    post: list[float] = []
    n_boxes = 0
    t_start = time.perf_counter()
    for i, r in enumerate(stream):
        stamps.append(time.perf_counter())
        if i >= a.warmup:
            pre.append(r.speed["preprocess"])
            inf.append(r.speed["inference"])
            post.append(r.speed["postprocess"])
            n_boxes += len(r.boxes)
        if a.max_frames and i + 1 >= a.max_frames:
            stream.close()
            break
    n = len(stamps)
    if n <= a.warmup + 1:
        print(f"error: video has {n} frames, need more than --warmup + 1 = {a.warmup + 1}", file=sys.stderr)
        return 2
    measured = n - a.warmup
    # Frame warmup-1's completion starts the clock, so `measured` frames fall inside the window.
    t0 = stamps[a.warmup - 1] if a.warmup else t_start
    elapsed = stamps[-1] - t0
    stage_sum = [p + i_ + q for p, i_, q in zip(pre, inf, post, strict=True)]
    out = {
        "tool": "ultralytics",
        "ultralytics_version": ultralytics.__version__,
        "torch_version": torch.__version__,
        "onnxruntime_version": onnxruntime.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "model": str(a.model),
        "imgsz": a.imgsz,
        "conf": a.conf,
        "iou": a.iou,
        "threads": a.threads,
        "video": video,
        "frames_total": n,
        "warmup_frames": a.warmup,
        "frames_measured": measured,
        "elapsed_s": round(elapsed, 4),
        "fps_end_to_end": round(measured / elapsed, 3),
        # 1000 / mean inference: the FPS inference alone would allow (the "raw" ceiling of this pipeline).
        "fps_inference_only": round(1000 * len(inf) / sum(inf), 3),
        "fps_stages_only": round(1000 * len(stage_sum) / sum(stage_sum), 3),
        "speed_ms": {
            "preprocess": _summary(pre),
            "inference": _summary(inf),
            "postprocess": _summary(post),
            "pre_inf_post": _summary(stage_sum),
        },
        "detections_measured": n_boxes,
        "model_load_and_first_frame_s": round((stamps[0] - t_load), 3),
        # Other processes distort the numbers: a 1-min load average above `threads` means contention.
        "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    text = json.dumps(out, indent=2)
    print(text)
    if a.json:
        a.json.write_text(text + "\n")
    return 0


def time_block(frames: Iterator[object], n: int) -> float:
    """Take ``n + 1`` items and return the seconds the last ``n`` took: each timed one paid for its own decoding."""
    next(frames)
    t0 = time.perf_counter()
    for _ in range(n):
        next(frames)
    return time.perf_counter() - t0


def serve_blocks(frames: Iterator[object], answers: TextIO) -> int:
    """Answer block requests until stdin closes (line N → ``{"seconds": s}``); ``frames`` stays open, so decoding
    continues the video. Also serves edgekit's pipeline for ``benchmarks/pipeline_paired.py --tree``."""
    for line in sys.stdin:
        print(json.dumps({"seconds": time_block(frames, int(line))}), file=answers, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
