"""`edgekit ask` as a fresh process (what a user types), timed end to end, optionally beside a running daemon.

Each run is a new `python -m edgekit.cli.main ask ...` process: interpreter start, imports, the store, the model
load when the question needs it, the answer. Variants (``--tree NAME=PATH``: a source tree put first on
PYTHONPATH, e.g. an older commit unpacked with `git archive`) are interleaved run by run, so background load
hits each alike. Per run: wall seconds, the child's CPU seconds (user + system), and the 1-minute load average.

    .venv/bin/python -m benchmarks.ask_cli_bench --tree before=/tmp/base --tree after=. --runs 12 --beside-daemon
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.lib.ask_eval import build_store

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "ask_cli.json"
#: one question the code reads alone, one that leaves the operation to the model (it loads the GGUF)
QUESTIONS = {"code": "how many falls were there today?", "model": "person_on_path events today?"}


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def start_daemon(work: Path, profile: str, tree: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """`edgekit run` on a synthetic camera with no frame cap (realtime off: the next frame is always ready)."""
    cfg = {"device": "bench", "profile": profile, "state_dir": str(work / "state"), "mqtt": None,
           "metrics": {"enabled": False}, "cameras": {"cam": {"source": "synthetic:0", "realtime": False}}}
    (work / "daemon.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "PYTHONPATH": str(tree)}
    p = subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", "run", "--config", str(work / "daemon.yaml")],
                         cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p, work / "state" / "stats.json"


def daemon_fps(stats: Path) -> float | None:
    try:
        return float(json.loads(stats.read_text())["cameras"]["cam"]["process_fps"])
    except (OSError, ValueError, KeyError):
        return None


def one_ask(tree: Path, question: str, events: Path, stats: Path, profile: str | None) -> dict[str, Any]:
    argv = [sys.executable, "-m", "edgekit.cli.main", "ask", question, "--events", str(events), "--stats",
            str(stats), "--json"] + (["--profile", profile] if profile else [])
    env = {**os.environ, "PYTHONPATH": str(tree)}
    load = loadavg()
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=tempfile.gettempdir(), env=env, capture_output=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"ask failed ({p.returncode}): {p.stderr.decode()[-500:]}")
    t = json.loads(p.stdout)
    return {"wall_s": round(wall, 3), "cpu_s": round(_children_cpu() - cpu0, 3), "loadavg": load,
            "model_calls": t["llm"]["calls"], "answer": t["answer"]}


def _children_cpu() -> float:
    """User + system CPU seconds of the children waited for so far (the daemon counts only once it ends)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", action="append", required=True, help="NAME=PATH of a source tree (repeatable)")
    ap.add_argument("--runs", type=int, default=12, help="runs per variant and question")
    ap.add_argument("--profile", default=None)
    ap.add_argument("--beside-daemon", action="store_true", help="run `edgekit run` flat out meanwhile")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    trees = {name: Path(path).resolve() for name, path in (t.split("=", 1) for t in a.tree)}
    work = Path(tempfile.mkdtemp(prefix="edgekit-ask-cli-"))
    st = build_store(work / "eval")
    stats, daemon = st.stats, None
    fps: list[float] = []
    if a.beside_daemon:
        daemon, stats = start_daemon(work, a.profile or "desktop", REPO)
        deadline = time.monotonic() + 300
        while (daemon_fps(stats) or 0) <= 0:
            if time.monotonic() > deadline or daemon.poll() is not None:
                raise SystemExit("the daemon did not start processing")
            time.sleep(1)
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {n: {q: [] for q in QUESTIONS} for n in trees}
    try:
        for name in trees:  # warm-up: page cache, and the on-disk prefix state of each variant's prompt
            for q in QUESTIONS.values():
                one_ask(trees[name], q, st.events, stats, a.profile)
        for _ in range(a.runs):
            for name, tree in trees.items():
                for key, q in QUESTIONS.items():
                    rows[name][key].append(one_ask(tree, q, st.events, stats, a.profile))
                    if daemon is not None and (f := daemon_fps(stats)) is not None:
                        fps.append(f)
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(60)
    summary: dict[str, Any] = {}
    for name in trees:
        for key in QUESTIONS:
            walls = sorted(r["wall_s"] for r in rows[name][key])
            cpus = [r["cpu_s"] for r in rows[name][key]]
            summary[f"{name}/{key}"] = {
                "p50_s": round(statistics.median(walls), 3),
                "p95_s": round(walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))], 3),
                "max_s": walls[-1], "runs": len(walls), "cpu_p50_s": round(statistics.median(cpus), 3),
                "model_calls": sorted({r["model_calls"] for r in rows[name][key]}),
                "loadavg": [min(r["loadavg"] for r in rows[name][key]), max(r["loadavg"] for r in rows[name][key])]}
            r = summary[f"{name}/{key}"]
            print(f"{name:8s} {key:6s} p50 {r['p50_s']:.2f} s  p95 {r['p95_s']:.2f} s  CPU p50 {r['cpu_p50_s']:.2f} s"
                  f"  load {r['loadavg']}")
    payload = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "host": {"machine": platform.machine(), "cores": os.cpu_count(), "python": sys.version.split()[0]},
               "beside_daemon": a.beside_daemon, "daemon_fps_median": round(statistics.median(fps), 2) if fps else None,
               "questions": QUESTIONS, "trees": {k: str(v) for k, v in trees.items()}, "summary": summary,
               "runs": rows}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
