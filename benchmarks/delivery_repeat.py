"""Run the delivery tests (tests/delivery/test_outbox.py: broker killed mid-stream, daemon SIGKILLed with pending
and in-flight events; test_mqtt.py: malformed commands) N times in a row while other processes keep every core busy,
and record each run. Not part of CI (CI runs them once); the result goes to benchmarks/results/delivery_repeat.json.

    .venv/bin/python benchmarks/delivery_repeat.py --runs 20
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "delivery_repeat.json"
TESTS = ["tests/delivery/test_outbox.py",
         "tests/delivery/test_mqtt.py::test_malformed_messages_are_ignored_and_counted"]


def burn() -> None:
    x = 0
    while True:  # a busy core
        x = (x * 31 + 7) % 1000003


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--burners", type=int, default=os.cpu_count() or 2, help="busy-loop processes (default: cores)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(args.burners)]
    for b in burners:
        b.start()
    runs = []
    try:
        for i in range(args.runs):
            t0 = time.monotonic()
            r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                *TESTS], cwd=REPO, capture_output=True, text=True)
            tail = (r.stdout.strip().splitlines() or [""])[-1]
            runs.append({"run": i + 1, "passed": r.returncode == 0, "summary": tail,
                         "seconds": round(time.monotonic() - t0, 1), "loadavg": list(os.getloadavg())})
            print(json.dumps(runs[-1]), flush=True)
            if r.returncode != 0:
                runs[-1]["output"] = r.stdout[-4000:]
    finally:
        for b in burners:
            b.terminate()
    result = {
        "what": f"{' '.join(TESTS)} repeated under load",
        "runs": args.runs, "passed": sum(r["passed"] for r in runs), "burners": args.burners,
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "results": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"{result['passed']}/{args.runs} passed")


if __name__ == "__main__":
    main()
