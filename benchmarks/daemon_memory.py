"""Daemon memory (issue 16 item 4): steady-state RSS of `edgekit run` for one synthetic camera on a profile.

Runs the real daemon in its own process (``benchmarks.lib.daemon_memory``) against a Mosquitto started on a free
loopback port, waits for ``--frames`` processed frames, samples its RSS, and records one entry per change in
benchmarks/results/daemon_memory.json (an entry with the same label is replaced). ``--repo`` measures another
checkout (e.g. a worktree of an older commit) with this script; ``--env K=V`` passes variables to the daemon.
``--assistant MODEL`` also runs the daemon with the assistant loaded and records its share (with − without)
beside the fit check's prediction (``edgekit.assistant.fit``).

    .venv/bin/python -m benchmarks.daemon_memory --label baseline --change "main before issue 16.4"
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.lib.broker import start_broker
from benchmarks.lib.daemon_memory import ask_over_mqtt, daemon_config, edgekit_env, measure_daemon
from edgekit.device.state import DeviceState, bracket

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "daemon_memory.json"


def predicted_share(model: str, profile: str) -> dict[str, Any]:
    """The fit check's estimate for ``model`` with ``profile``'s LLM settings."""
    from edgekit.assistant.fit import estimate_fit
    from edgekit.assistant.gguf_meta import read_gguf_info
    from edgekit.assistant.loader import llm_settings
    from edgekit.assistant.model_files import resolve_gguf

    s = llm_settings(profile)
    rep = estimate_fit(read_gguf_info(resolve_gguf(model)[1]), s.n_ctx, s.n_batch, s.llm_budget_mb)
    out: dict[str, Any] = {"summary": rep.summary(), "total_mb": round(rep.total_mb, 1)}
    if hasattr(rep, "beside_daemon_mb"):
        out["beside_daemon_mb"] = round(rep.beside_daemon_mb, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--label", required=True, help="name of this measurement (replaces an entry of that name)")
    ap.add_argument("--change", required=True, help="what changed since the previous entry")
    ap.add_argument("--profile", default="rpi5")
    ap.add_argument("--frames", type=int, default=40, help="processed frames before sampling (warm-up)")
    ap.add_argument("--sample-s", type=float, default=10.0)
    ap.add_argument("--repo", type=Path, default=REPO, help="the edgekit checkout to run")
    ap.add_argument("--env", action="append", default=[], help="K=V for the daemon's environment")
    ap.add_argument("--assistant", help="also measure with this assistant model loaded")
    ap.add_argument("--cache", type=Path, help="EDGEKIT_CACHE for the daemon: where it finds the profile's export "
                    "(default: an empty folder, so the plan falls back to the card's FP32 640 model)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edgekit-mem-"))
    extra = {"EDGEKIT_CACHE": str(args.cache or work / "empty-cache"), **dict(kv.split("=", 1) for kv in args.env)}
    broker, port = start_broker(work)
    before = DeviceState.capture()
    try:
        runs: dict[str, Any] = {}
        answers: list[dict[str, Any]] = []
        for name, model in [("daemon", None), *([("with_assistant", args.assistant)] if args.assistant else [])]:
            cfg = daemon_config(work / name / "state", args.profile, mqtt_port=port, assistant=model)
            # with the assistant: after one answered question (a decode has read every weight page once)
            ask = (lambda dev=cfg["device"]: answers.append(ask_over_mqtt(port, dev))) if model else None
            m = measure_daemon(cfg, work / name, frames=args.frames, sample_s=args.sample_s,
                               env=edgekit_env(args.repo, extra), cwd=args.repo, before_sampling=ask)
            runs[name] = m.to_dict()
            print(f"{name}: RSS {m.rss_mb:.1f} MB (anon {m.anon_mb:.1f}, file {m.file_mb:.1f}), max "
                  f"{m.rss_max_mb:.1f}, after {m.frames} frames, {m.process_fps:.1f} fps; {m.runtime.get('model')} "
                  f"{m.runtime.get('input_size')} {m.runtime.get('precision')}")
    finally:
        broker.terminate()
        broker.wait(10)
    after = DeviceState.capture()
    commit = subprocess.run(["git", "-C", str(args.repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    entry: dict[str, Any] = {
        "label": args.label, "change": args.change, "commit": commit, "profile": args.profile,
        "env": extra, "frames": args.frames, "sample_s": args.sample_s,
        "rss_mb": runs["daemon"]["rss_mb"], "runs": runs, "machine": bracket(before, after),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if args.assistant:
        share = runs["with_assistant"]["rss_mb"] - runs["daemon"]["rss_mb"]
        pred = predicted_share(args.assistant, args.profile)
        entry["assistant"] = {"model": args.assistant, "share_mb": round(share, 1), "predicted": pred,
                              "answer": {k: answers[0].get(k) for k in ("outcome", "answer", "error")}}
        key = "beside_daemon_mb" if "beside_daemon_mb" in pred else "total_mb"
        entry["assistant"]["predicted_over_measured"] = round(pred[key] / share, 3) if share > 0 else None
        print(f"assistant share {share:.1f} MB; predicted {pred[key]:.1f} MB ({pred['summary']})")
    data = json.loads(args.out.read_text()) if args.out.exists() else {
        "what": "steady-state RSS of `edgekit run` (one synthetic camera, MQTT on, metrics on) per change; "
                "python -m benchmarks.daemon_memory", "entries": []}
    data["entries"] = [e for e in data["entries"] if e["label"] != args.label] + [entry]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
