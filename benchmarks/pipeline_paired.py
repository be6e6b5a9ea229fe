"""Pipeline vs raw vs Ultralytics as paired ratios: short blocks of each, interleaved, many rounds, in one run.

On a shared VM the speed of a core drifts by more than the few per cent being compared (pipeline ≥ 0.97 × raw),
so whole runs taken one after another rank noise. Here every consumer stays open for the whole run and each round
times one short block of each (``--block`` frames, in a rotating order, with a pause between blocks so no one's
look-ahead or spinning threads run into the next block); a round's ratio compares blocks seconds apart, and the
median over rounds is reported with its quartiles.

  raw          ``InferenceSession.run`` on one pre-processed tensor, ORT defaults (spinning on): the ceiling
  pipeline     edgekit's ``detect_stream`` with the detector as ``Detector.load`` opens it (``overlap_for``)
  pipe-prepare the capture thread decodes and letterboxes ahead (``overlap="prepare"``)
  pipe-decode  the capture thread only decodes ahead (``overlap="decode"``)
  NAME         with ``--pipe NAME=key:value,…``: the pipeline with those ONNX Runtime session config entries
               (e.g. ``--pipe fss=session.force_spinning_stop:1``), for a before/after in the same run
  NAME@tree    with ``--tree NAME=PATH``: edgekit's pipeline from another checkout (e.g. the commit before a
               change), served from its own process like Ultralytics, for a before/after in the same run
  ultralytics  Ultralytics ``predict(stream=True)`` on the same ONNX (``ultralytics_peer.py --serve``, its venv)

Each block of a video consumer takes ``block + 1`` frames and times the last ``block``: every timed frame then
pays for its own decoding, as in a long run.

Usage: python -m benchmarks.pipeline_paired --model models/yolov8s-fall.onnx --block 8 --rounds 30 --out x.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.ultralytics_peer import serve_blocks, time_block  # the one block protocol for every consumer

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "yolov8s-fall.onnx"))
    ap.add_argument("--block", type=int, default=8, help="frames timed per block")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pause", type=float, default=0.3, help="seconds between blocks")
    ap.add_argument("--skip", default="", help="comma-separated variants to leave out")
    ap.add_argument("--pipe", action="append", default=[], metavar="NAME=KEY:VALUE,...",
                    help="a pipeline variant with these ORT session config entries (repeatable)")
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH",
                    help="edgekit's pipeline from the checkout at PATH, in its own process (repeatable)")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--video", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--peer-python", default=str(REPO / ".venv-peer" / "bin" / "python"))
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pipeline_paired.json")
    args = ap.parse_args()
    if args.serve:
        _serve(args)
        return

    import onnxruntime as ort

    from edgekit.backends import BackendOptions, open_backend
    from edgekit.device.state import DeviceState, bracket
    from edgekit.pipeline.stream import Overlap, detect_stream
    from edgekit.sources import VideoSource, make_synthetic_video
    from edgekit.sources.synthetic import SyntheticScene
    from edgekit.vision.detector import Detector

    before = DeviceState.capture()
    skip = set(filter(None, args.skip.split(",")))
    frames = args.warmup + args.rounds * (args.block + 1) + 2
    tmp = tempfile.TemporaryDirectory()
    clip = make_synthetic_video(Path(tmp.name) / "walk.mp4", seconds=frames / 15 + 1, fps=15)

    det = Detector.load(args.model, "desktop", threads=args.threads)
    tensor, _ = det.preprocess(SyntheticScene.random(0).render(1.0)[0])
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
    raw_session = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    name = raw_session.get_inputs()[0].name

    def raw_block(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            raw_session.run(None, {name: tensor})
        return time.perf_counter() - t0

    def stream_block(it: Iterator[Any]) -> Callable[[int], float]:
        return lambda n: time_block(it, n)

    blocks: dict[str, Callable[[int], float]] = {"raw": raw_block}
    closers: list[Callable[[], None]] = []
    variants: list[tuple[str, Overlap | None]] = [("pipeline", None), ("pipe-prepare", "prepare"),
                                                   ("pipe-decode", "decode")]
    for label, overlap in variants:
        if label not in skip:
            d = Detector.load(args.model, "desktop", threads=args.threads)
            blocks[label] = stream_block(detect_stream(d, VideoSource(clip), drop=False, overlap=overlap))
    for spec in args.pipe:
        label, _, entries = spec.partition("=")
        extra = dict(e.split(":", 1) for e in entries.split(",") if e)
        d = Detector.load(args.model, "desktop", threads=args.threads)
        d.backend.close()
        d.backend = open_backend(args.model, BackendOptions(threads=args.threads, extra=extra))
        blocks[label] = stream_block(detect_stream(d, VideoSource(clip), drop=False))
    for spec in args.tree:
        label, _, tree = spec.partition("=")
        # run from the tree, so its edgekit comes first; this checkout's benchmarks package follows it
        served = _Served(label, [sys.executable, "-m", "benchmarks.pipeline_paired", "--serve", "--model",
                                 str(Path(args.model).resolve()), "--video", str(clip), "--threads", str(args.threads)],
                         cwd=Path(tree).resolve(), env={**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{REPO}"})
        blocks[label] = served.block
        closers.append(served.close)
    if "ultralytics" not in skip and Path(args.peer_python).exists():
        # by path: the peer venv runs the script alone (stdlib + ultralytics), never edgekit or this package
        peer = _Served("ultralytics", [args.peer_python, str(REPO / "benchmarks" / "ultralytics_peer.py"),
                                       "--model", args.model, "--video", str(clip), "--imgsz", str(det.input_hw[0]),
                                       "--threads", str(args.threads), "--serve"])
        blocks["ultralytics"] = peer.block
        closers.append(peer.close)

    for run in blocks.values():  # warm-up: first runs, look-ahead filled, peer's own warm-up
        run(args.warmup)
        time.sleep(args.pause)
    names = list(blocks)
    rounds: list[dict[str, float]] = []
    for r in range(args.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        fps = {}
        for k in order:
            fps[k] = args.block / blocks[k](args.block)
            time.sleep(args.pause)
        rounds.append({k: round(fps[k], 3) for k in names})
        print(json.dumps(rounds[-1]), file=sys.stderr)
    for close in closers:
        close()
    tmp.cleanup()

    def paired(a: str, b: str) -> dict[str, float]:
        """Median and quartiles of a's FPS over b's, round by round; how many rounds reach issue 16's target."""
        q = [x[a] / x[b] for x in rounds]
        q1, med, q3 = statistics.quantiles(q, n=4)
        target = {"ultralytics": 1.08, "raw": 0.97}.get(b, 1.0)
        return {"median": round(med, 3), "q1": round(q1, 3), "q3": round(q3, 3), "target": target,
                "rounds_at_or_above_target": sum(r >= target for r in q)}

    ratios = {f"{k}/raw": paired(k, "raw") for k in names if k != "raw"}
    if "ultralytics" in names:
        ratios |= {f"{k}/ultralytics": paired(k, "ultralytics") for k in names if k not in ("raw", "ultralytics")}
    for label in [s.partition("=")[0] for s in args.pipe if "pipeline" in names]:
        ratios[f"{label}/pipeline"] = paired(label, "pipeline")
    result = {
        "model": args.model,
        "input": list(det.input_hw),
        "threads": args.threads,
        "block": args.block,
        "fps_median": {k: round(statistics.median(x[k] for x in rounds), 3) for k in names},
        "ratios": ratios,
        "rounds": rounds,
        "device_state": bracket(before, DeviceState.capture()),
        "affinity": sorted(os.sched_getaffinity(0)),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({"fps_median": result["fps_median"], "ratios": ratios}, indent=2))


def _serve(args: argparse.Namespace) -> None:
    """Answer block requests with this checkout's pipeline (``--tree``): stdin N → the seconds N frames took."""
    from edgekit.pipeline.stream import detect_stream
    from edgekit.sources import VideoSource
    from edgekit.vision.detector import Detector

    det = Detector.load(args.model, "desktop", threads=args.threads)
    serve_blocks(detect_stream(det, VideoSource(args.video), drop=False), sys.stdout)


class _Served:
    """A consumer in its own process that times blocks on request (stdin N → stdout ``{"seconds": s}``)."""

    def __init__(self, name: str, cmd: list[str], cwd: Path = REPO, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cwd, env=env)

    def block(self, n: int) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} ended early")
        return float(json.loads(line)["seconds"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


if __name__ == "__main__":
    main()
