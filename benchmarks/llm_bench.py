"""LLM benchmark: the assistant's engine vs raw llama-cpp-python, decode prediction, detection beside it.

Writes benchmarks/results/llm.json (the source of truth) and prints a summary. Same as `edgekit bench llm`.

    .venv/bin/python -m benchmarks.llm_bench [--model smollm2-135m-instruct] [--model gemma3-270m]
        [--profile desktop] [--threads 1 --threads 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from edgekit.bench.llm import run_llm_bench, summary_lines

RESULTS = Path(__file__).resolve().parent / "results" / "llm.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="GGUF card/file; repeat for several (default: smollm2)")
    ap.add_argument("--profile", default="desktop")
    ap.add_argument("--threads", type=int, action="append", help="LLM threads; repeat to compare (default: profile)")
    ap.add_argument("--prompt-tokens", type=int, default=256)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per process (after one warm-up)")
    ap.add_argument("--rounds", type=int, default=2, help="processes per variant, alternating raw/assistant")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each concurrent phase")
    ap.add_argument("--no-concurrent", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    results = []
    for i, model in enumerate(a.model or [None]):
        for threads in a.threads or [None]:
            r = run_llm_bench(
                model,
                a.profile,
                threads=threads,
                prompt_tokens=a.prompt_tokens,
                gen_tokens=a.gen_tokens,
                runs=a.runs,
                rounds=a.rounds,
                concurrent=not a.no_concurrent and i == 0,
                seconds=a.seconds,
            )
            for line in summary_lines(r):
                print(line)
            results.append(r)
    payload = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {"machine": platform.machine(), "python": sys.version.split()[0], "processor": platform.processor()},
        "results": results,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
