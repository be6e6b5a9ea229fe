"""Fleet scale proof: N simulated boards → central Mosquitto → `edgekit hub` → PostgreSQL, through a hub SIGKILL
and a central broker restart. Records what PostgreSQL committed against what the boards produced, end-to-end
latency (event made on a board → row committed by the hub) and the machine's state.

    python -m benchmarks.fleet_bench --boards 100 --rate 1000 --duration 120 --procs 4 --out results/fleet_100.json

Needs PostgreSQL (Debian's), Mosquitto and the hub extra (scripts/install_fleet.sh). Board outboxes live on
/dev/shm by default: a real board has its own storage, and 100 boards' fsyncs on one shared disk would measure
that disk, not the fleet path.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import tempfile
import time
from pathlib import Path

from tests.hub.scale import Plan, run_scale
from tests.servers import Postgres

REPO = Path(__file__).resolve().parents[1]


def machine() -> dict[str, object]:
    flags = ""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name") and not model:
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            flags = line.split(":", 1)[1]
    return {"cpu": model, "cores": os.cpu_count(), "avx512": "avx512f" in flags, "python": platform.python_version(),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3]}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--boards", type=int, default=100)
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--duration", type=float, default=120)
    p.add_argument("--procs", type=int, default=4)
    p.add_argument("--kill-hub-at", type=float, default=40, help="seconds into the run; past --duration: never")
    p.add_argument("--restart-broker-at", type=float, default=80, help="seconds into the run; past --duration: never")
    p.add_argument("--state", type=Path, default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "fleet_100.json")
    a = p.parse_args()
    # clean up (servers, board processes) on SIGTERM and on SIGINT even when started in the background
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.default_int_handler)
    work = Path(tempfile.mkdtemp(prefix="edgekit-fleet-", dir=a.state))
    pg = Postgres(Path(tempfile.mkdtemp(prefix="edgekit-pg-")))
    pg.start()
    try:
        before = machine()
        t0 = time.time()
        result = run_scale(Plan(boards=a.boards, rate=a.rate, duration=a.duration, procs=a.procs,
                                kill_hub_at=a.kill_hub_at, restart_broker_at=a.restart_broker_at,
                                settle_timeout=300), pg.dsn, work, pg_pid=pg.pid())
        after = machine()
    finally:
        pg.stop()
        shutil.rmtree(pg.dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    out = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)), "machine_before": before,
           "machine_after": after, "board_outboxes_on": str(a.state), **result}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=2))
    print(json.dumps({k: out[k] for k in ("produced", "produced_per_s", "committed_rows", "lost", "duplicated_rows",
                                         "latency_s", "machine_before", "machine_after")}, indent=2))


if __name__ == "__main__":
    main()
