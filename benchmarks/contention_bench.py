"""The daemon beside other work (issue 23 items 3–4): three ratios paired in one run, and several cameras.

    .venv/bin/python -m benchmarks.contention_bench [--seconds 8] [--rounds 4] [--variant NAME=THREADS:SPINNING]...

Part 1, per scheduling variant (default: ``default`` = the daemon's defaults, ``nice0`` = the same with the
capture thread at niceness 0, ``spin`` = ONNX Runtime's own spinning with niceness 0, the daemon before this work),
in rounds; each round times, back to back and in rotating order, blocks of:

- ``raw``: ``session.run`` on one prepared 640 tensor, the same plan (threads, spinning) as the daemon;
- ``quiet``: one camera worker (the daemon's: live synthetic 720p camera at 15 FPS, capture thread, detection,
  ByteTrack, rules), frames processed per second;
- ``hog``: the same, with ``python -c 'while 1: pass'`` running beside it (nice 0);
- ``llm``: the same, with the assistant's engine decoding beside it in another process, with the settings the
  profile gives it beside the camera (``llm.threads_beside_camera``, ``llm.nice_beside_camera``).

The hog and the LLM processes start once and are stopped (SIGSTOP) outside their blocks, so no block pays their
start-up. Each round gives quiet ÷ raw, hog ÷ quiet and llm ÷ quiet; the summary is the median over rounds.

Part 2: 1, 2 and 4 cameras on one shared detector (the daemon's layout), FPS per camera and in total; and batch 1
vs batch N on ONNX Runtime's CPU (the shipped model rewritten for a static batch N), images per second.

Writes ``results/contention.json`` (``--out``) with the load average and CPU flags before and after each part.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.lib.batched import batched_model

REPO = Path(__file__).resolve().parent.parent
HOG = "while 1: pass"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each timed block")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--profile", default="desktop")
    ap.add_argument("--variant", action="append", default=None,
                    help="NAME=THREADS:SPINNING[:CAPTURE_NICE] (default: the daemon's defaults, 'nice0' = them with "
                    "the capture thread at niceness 0, 'spin' = ONNX Runtime's spinning with niceness 0 as before)")
    ap.add_argument("--cameras", default="1,2,4", help="camera counts for part 2 ('' skips it)")
    ap.add_argument("--batch", default="2,4", help="batch sizes for part 2 ('' skips them)")
    ap.add_argument("--llm", default=None, help="GGUF card or file for the assistant (default: the assistant's)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "contention.json")
    ap.add_argument("--llm-child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.llm_child:
        _decode_forever(a.llm)
        return
    from edgekit.config.scheduling import SchedulingConfig
    from edgekit.device.state import DeviceState, bracket

    nice = SchedulingConfig().capture_nice
    variants = [_parse_variant(v) for v in (a.variant or [f"default=0:auto:{nice}", "nice0=0:auto:0", "spin=0:on:0"])]
    out: dict[str, Any] = {"seconds": a.seconds, "rounds": a.rounds, "profile": a.profile}
    before = DeviceState.capture()
    out["contention"] = contention(variants, a.profile, a.seconds, a.rounds, a.llm)
    out["contention_state"] = bracket(before, mid := DeviceState.capture())
    cams = [int(c) for c in a.cameras.split(",") if c]
    out["cameras"] = cameras(cams, a.profile, a.seconds) if cams else []
    out["batch"] = batching([int(b) for b in a.batch.split(",") if b], a.profile, a.seconds)
    out["cameras_state"] = bracket(mid, DeviceState.capture())
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1))
    for line in summary(out):
        print(line)
    print(f"→ {a.out}")


def _parse_variant(spec: str) -> dict[str, Any]:
    from edgekit.config.scheduling import SchedulingConfig

    name, _, rest = spec.partition("=")
    parts = rest.split(":")
    return {"name": name, "threads": int(parts[0] or 0), "spinning": parts[1] if len(parts) > 1 else "auto",
            "capture_nice": int(parts[2]) if len(parts) > 2 else SchedulingConfig().capture_nice}


# -- the neighbours ------------------------------------------------------------------------------------------------
class Paused:
    """A process started once and kept stopped (SIGSTOP) except while ``running()``."""

    def __init__(self, cmd: list[str], ready: Callable[[subprocess.Popen[bytes]], None] | None = None) -> None:
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE if ready else subprocess.DEVNULL)
        if ready is not None:
            ready(self.proc)
        os.kill(self.proc.pid, signal.SIGSTOP)

    def __enter__(self) -> Paused:
        os.kill(self.proc.pid, signal.SIGCONT)
        return self

    def __exit__(self, *exc: object) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def close(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)
        self.proc.kill()
        self.proc.wait(30)


def _wait_line(proc: subprocess.Popen[bytes]) -> None:
    """The LLM child prints one line once its model is loaded and its first prompt is evaluated."""
    assert proc.stdout is not None
    if not proc.stdout.readline():
        raise RuntimeError("the LLM process ended before it was ready (is a GGUF installed? scripts/install_llm.sh)")


def _decode_forever(model: str | None) -> None:
    """The assistant's engine, with the settings it takes beside the camera, generating until killed."""
    from edgekit.assistant.engine import LlamaEngine
    from edgekit.assistant.model_files import resolve_gguf
    from edgekit.assistant.settings import LLMSettings
    from edgekit.device.profiles import load_profile

    settings = LLMSettings.from_profile(load_profile("desktop")).beside_camera()
    engine = LlamaEngine(resolve_gguf(model)[1], settings)
    prompt = [{"role": "user", "content": "Describe a quiet street at night in many words."}]
    first = True
    while True:
        engine.llm.reset()
        for _ in engine.chat_stream(prompt, max_tokens=64):
            if first:
                print("ready", flush=True)
                first = False


# -- blocks ---------------------------------------------------------------------------------------------------------
def raw_block(infer: Callable[[list[Any]], Any], tensor: Any, seconds: float) -> float:
    """``infer([tensor])`` back to back for ``seconds``: calls per second."""
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        infer([tensor])
        n += 1
    return n / (time.perf_counter() - t0)


def camera_block(det: Any, n_cams: int, seconds: float, capture_nice: int = 0) -> list[float]:
    """``n_cams`` of the daemon's camera workers on live 15 FPS synthetic cameras sharing ``det``: each one's
    processed frames per second over ``seconds``, timed after every camera processed its first frame."""
    from edgekit.config.cameras import CameraConfig
    from edgekit.pipeline.camera import CameraWorker
    from edgekit.tracking.rules import RuleEngine

    workers = []
    for i in range(n_cams):
        cfg = CameraConfig(source=f"synthetic:{i}", realtime=True, fps=15)
        workers.append(CameraWorker(f"cam{i}", cfg, det, RuleEngine(f"cam{i}", cfg, [], det.labels),
                                    lambda *a: None, capture_nice=capture_nice))
    for w in workers:
        w.start()
    try:
        deadline = time.monotonic() + 120
        while any(w.stats.processed < 2 for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        return _rates(workers, seconds)
    finally:
        for w in workers:
            w.stop()
        for w in workers:
            w.join(10)


def _rates(workers: list[Any], seconds: float) -> list[float]:
    """Each worker's frames per second between the first and the last frame it finished in ``seconds`` (frame
    ends seen by polling every 5 ms: at well under one frame per second a plain count over the block would be
    off by up to a whole frame)."""
    ends: list[list[float]] = [[] for _ in workers]
    last = [w.stats.processed for w in workers]
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        time.sleep(0.005)
        for i, w in enumerate(workers):
            n = w.stats.processed
            if n != last[i]:
                ends[i] += [time.perf_counter()] * (n - last[i])
                last[i] = n
    return [(len(e) - 1) / (e[-1] - e[0]) if len(e) >= 2 and e[-1] > e[0] else 0.0 for e in ends]


# -- part 1 ---------------------------------------------------------------------------------------------------------
def contention(variants: list[dict[str, Any]], profile: str, seconds: float, rounds: int,
               llm: str | None) -> dict[str, Any]:
    from edgekit.vision.detector import Detector

    image = _frame()
    dets = {v["name"]: Detector.load(profile=profile, threads=v["threads"] or None, spinning=v["spinning"])
            for v in variants}
    blocks: dict[str, dict[str, list[float]]] = {v["name"]: {k: [] for k in ("raw", "quiet", "hog", "llm")}
                                                 for v in variants}
    loads: list[float] = []
    with ExitStack() as stack:
        hog = Paused([sys.executable, "-c", HOG])
        stack.callback(hog.close)
        child = [sys.executable, "-m", "benchmarks.contention_bench", "--llm-child"] + (["--llm", llm] if llm else [])
        gen = Paused(child, ready=_wait_line)
        stack.callback(gen.close)
        for r in range(rounds):
            for i, v in enumerate(variants[r % len(variants):] + variants[:r % len(variants)]):
                det, b = dets[v["name"]], blocks[v["name"]]
                tensor = det.preprocess(image)[0]
                order = ["raw", "quiet", "hog", "llm"]
                for kind in order[(r + i) % 4:] + order[:(r + i) % 4]:
                    loads.append(os.getloadavg()[0])
                    if kind == "raw":
                        b["raw"].append(raw_block(det.backend.infer, tensor, seconds))
                        continue
                    with hog if kind == "hog" else gen if kind == "llm" else ExitStack():
                        b[kind].append(camera_block(det, 1, seconds, v["capture_nice"])[0])
            print(f"round {r + 1}/{rounds}, load {os.getloadavg()[0]:.2f}: "
                  + "; ".join(f"{n} " + " ".join(f"{k} {x[-1]:.2f}" for k, x in b.items()) for n, b in blocks.items()),
                  flush=True)
    for d in dets.values():
        d.close()
    return {"variants": variants, "blocks": blocks, "ratios": {n: _ratios(b) for n, b in blocks.items()},
            "block_load_1min": {"min": min(loads), "median": statistics.median(loads), "max": max(loads)}}


def _ratios(b: dict[str, list[float]]) -> dict[str, Any]:
    """Per-round ratios, and their median, of blocks timed seconds apart."""
    def per(num: str, den: str) -> list[float]:  # a block with fewer than two frames has no rate: left out
        return [n / d for n, d in zip(b[num], b[den], strict=True) if n > 0 and d > 0]

    ratios = {"quiet_over_raw": per("quiet", "raw"), "hog_over_quiet": per("hog", "quiet"),
              "llm_over_quiet": per("llm", "quiet")}
    out: dict[str, Any] = {k: {"median": round(statistics.median(v), 3) if v else None,
                               "rounds": [round(x, 3) for x in v]} for k, v in ratios.items()}
    out["fps_median"] = {k: round(statistics.median(v), 2) for k, v in b.items()}
    return out


# -- part 2 ---------------------------------------------------------------------------------------------------------
def cameras(counts: list[int], profile: str, seconds: float) -> list[dict[str, Any]]:
    """1, 2, 4 … cameras on one detector with the daemon's defaults: FPS per camera and in total."""
    from edgekit.config.scheduling import SchedulingConfig
    from edgekit.vision.detector import Detector

    det = Detector.load(profile=profile)
    rows = []
    nice = SchedulingConfig().capture_nice
    for n in counts:
        fps = camera_block(det, n, seconds * n, nice)  # about as many frames per camera as one camera gets alone
        rows.append({"cameras": n, "fps_per_camera": [round(f, 2) for f in fps], "total_fps": round(sum(fps), 2),
                     "load_1min": round(os.getloadavg()[0], 2)})
        print(f"{n} camera(s): {sum(fps):.2f} FPS in total, per camera {[round(f, 2) for f in fps]}", flush=True)
    det.close()
    return rows


def batching(sizes: list[int], profile: str, seconds: float) -> list[dict[str, Any]]:
    """Images per second of batch 1 and of a static batch-N copy of the same model, the same plan, alternated."""
    if not sizes:
        return []
    from edgekit.backends import open_backend
    from edgekit.vision.detector import Detector

    det = Detector.load(profile=profile)
    assert det.plan is not None
    x1 = det.preprocess(_frame())[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = batched_model(det.plan.model_path, n, Path(tmp) / f"b{n}.onnx")
            big = open_backend(path, det.plan.options, det.plan.backend)
            xn = np.concatenate([x1] * n)
            same = np.allclose(big.infer([xn])[0][-1], det.backend.infer([x1])[0][0], atol=1e-3)
            one, many = [], []
            for _ in range(2):
                one.append(raw_block(det.backend.infer, x1, seconds))
                many.append(raw_block(big.infer, xn, seconds) * n)
            rows.append({"batch": n, "outputs_match_batch_1": bool(same), "batch1_img_s": round(max(one), 2),
                         "batchN_img_s": round(max(many), 2), "ratio": round(max(many) / max(one), 3),
                         "load_1min": round(os.getloadavg()[0], 2)})
            print(f"batch {n}: {rows[-1]}", flush=True)
            big.close()
    det.close()
    return rows


def _frame() -> Any:
    from edgekit.sources.synthetic import SyntheticScene

    return SyntheticScene.random(0).render(1.0)[0]


def summary(out: dict[str, Any]) -> list[str]:
    c = out["contention"]
    lines = [f"load (1 min) during part 1: {c['block_load_1min']}; CPU flags "
             f"{out['contention_state']['before']['flags']}"]
    for name, r in c["ratios"].items():
        lines.append(f"{name}: FPS {r['fps_median']}; quiet/raw {r['quiet_over_raw']['median']}, "
                     f"hog/quiet {r['hog_over_quiet']['median']}, llm/quiet {r['llm_over_quiet']['median']}")
    lines += [f"{row['cameras']} cameras: {row['total_fps']} FPS total, {row['fps_per_camera']} per camera"
              for row in out["cameras"]]
    lines += [f"batch {b['batch']}: {b['ratio']}× batch 1 ({b['batchN_img_s']} vs {b['batch1_img_s']} img/s)"
              for b in out["batch"]]
    return lines


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
