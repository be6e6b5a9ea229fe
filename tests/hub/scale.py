"""The fleet at scale: simulated boards (real outbox + MQTT link) → central Mosquitto → hub → PostgreSQL,
with a hub SIGKILL and a central broker restart on the way. Used by the CI test (10 boards, 30 s) and by
``python -m benchmarks.fleet_bench`` (100 boards, 2 minutes, recorded in benchmarks/)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import yaml

from tests.conftest import Broker
from tests.hub.simulate import board_name, event_id

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Plan:
    boards: int = 10
    rate: float = 100.0  # events/s, all boards together
    duration: float = 30.0
    procs: int = 1  # board processes
    kill_hub_at: float | None = 10.0  # seconds into the run
    hub_down_s: float = 2.0
    restart_broker_at: float | None = 20.0
    settle_timeout: float = 180.0


def central_broker(workdir: Path) -> Broker:
    workdir.mkdir(parents=True, exist_ok=True)
    b = Broker(workdir)  # its config keeps root already (a second `user` line is an error to Mosquitto)
    b.conf.write_text(b.conf.read_text().replace("max_queued_messages 100000", "max_queued_messages 1000000")
                      + "max_inflight_messages 1000\n")
    return b


class CpuSampler:
    """CPU seconds (user + system) per role, summed over every process that held the role (restarts included)."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self.roles: dict[str, list[int]] = {}
        self.seen: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def set(self, role: str, pids: list[int]) -> None:
        self.roles[role] = list(pids)

    def _sample(self) -> None:
        for role, pids in list(self.roles.items()):
            procs = []
            for pid in pids:
                try:
                    p = self._psutil.Process(pid)
                    procs += [p, *p.children(recursive=True)]
                except self._psutil.Error:
                    continue
            for p in procs:
                try:
                    t = p.cpu_times()
                except self._psutil.Error:
                    continue
                key = (role, p.pid)
                self.seen[key] = max(self.seen.get(key, 0.0), t.user + t.system)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._sample()
        self._stop.set()
        self._thread.join()
        out: dict[str, float] = {}
        for (role, _), v in self.seen.items():
            out[role] = round(out.get(role, 0.0) + v, 1)
        return out


def _start_hub(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", "-v", "hub", "--config", str(cfg),
                             "--stats-every", "5"], cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def _wait(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise TimeoutError(what)


def _count(dsn: str) -> int:
    with psycopg.connect(dsn) as c:
        return int(c.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def run_scale(plan: Plan, dsn: str, workdir: Path, pg_pid: int | None = None) -> dict[str, Any]:
    """Run the plan; returns what PostgreSQL committed against what the boards produced, latencies, and the CPU
    seconds each part used (``pg_pid``: the postmaster, to count PostgreSQL's processes too)."""
    broker = central_broker(workdir / "broker")
    broker.start()
    cpu = CpuSampler()
    if pg_pid is not None:
        cpu.set("postgres", [pg_pid])
    cpu.start()
    cfg = workdir / "hub.yaml"
    cfg.write_text(yaml.safe_dump({"mqtt": {"host": "127.0.0.1", "port": broker.port, "client_id": "hub-scale"},
                                   "database": {"dsn": dsn}, "limits": {"batch_wait_ms": 20}}))
    log = workdir / "hub.log"
    subprocess.run([sys.executable, "-m", "edgekit.cli.main", "hub", "--config", str(cfg), "--migrate-only"],
                   cwd=REPO, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    hub = _start_hub(cfg, log)
    hubs, brokers = [hub.pid], [broker.proc.pid if broker.proc else 0]
    cpu.set("hub", hubs)
    cpu.set("broker", brokers)
    boards: list[subprocess.Popen[str]] = []
    timeline: list[tuple[float, str]] = []
    try:
        _wait(lambda: log.exists() and "hub subscribed" in log.read_text(), 60, "hub did not subscribe")
        per = plan.boards // plan.procs
        t0 = time.time()
        for p in range(plan.procs):
            n = per if p < plan.procs - 1 else plan.boards - per * (plan.procs - 1)
            boards.append(subprocess.Popen(
                [sys.executable, "-m", "tests.hub.simulate", "--port", str(broker.port), "--first", str(p * per),
                 "--count", str(n), "--rate", str(plan.rate * n / plan.boards), "--duration", str(plan.duration),
                 "--state", str(workdir / "boards" / f"p{p}"), "--drain-timeout", str(plan.settle_timeout)],
                cwd=REPO, stdout=subprocess.PIPE, stderr=(workdir / f"boards-{p}.log").open("w"), text=True,
                env={**os.environ, "PYTHONPATH": str(REPO)}))
        cpu.set("boards", [b.pid for b in boards])
        events: list[tuple[float, str]] = []
        if plan.kill_hub_at is not None and plan.kill_hub_at < plan.duration:
            events.append((plan.kill_hub_at, "kill_hub"))
        if plan.restart_broker_at is not None and plan.restart_broker_at < plan.duration:
            events.append((plan.restart_broker_at, "restart_broker"))
        for at, what in sorted(events):
            time.sleep(max(0.0, t0 + at - time.time()))
            timeline.append((round(time.time() - t0, 2), what))
            if what == "kill_hub":
                os.kill(hub.pid, signal.SIGKILL)
                hub.wait()
                time.sleep(plan.hub_down_s)
                hub = _start_hub(cfg, log)
                hubs.append(hub.pid)
                cpu.set("hub", hubs)
                timeline.append((round(time.time() - t0, 2), "hub_started"))
            else:
                broker.restart()
                brokers.append(broker.proc.pid if broker.proc else 0)
                cpu.set("broker", brokers)
                timeline.append((round(time.time() - t0, 2), "broker_started"))
        results = []
        for b in boards:
            out, _ = b.communicate(timeout=plan.duration + plan.settle_timeout + 120)
            results.append(json.loads(out.strip().splitlines()[-1]))
        produced: dict[str, int] = {}
        for r in results:
            produced.update(r["produced"])
        total = sum(produced.values())
        with contextlib.suppress(TimeoutError):
            _wait(lambda: _count(dsn) >= total, plan.settle_timeout, "hub did not catch up")
        time.sleep(1.0)  # anything in flight lands, so a duplicate would show
        t_end = time.time()
    finally:
        for b in boards:
            if b.poll() is None:
                b.kill()
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(timeout=30)
        except subprocess.TimeoutExpired:
            hub.kill()
        broker.stop()
        cpu_s = cpu.stop()
    expected = {event_id(d, s) for d, n in produced.items() for s in range(n)}
    with psycopg.connect(dsn) as c:
        ids = [r[0] for r in c.execute("SELECT id FROM events").fetchall()]
        lat = c.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY ingested_at - start_ts), "
            "MAX(ingested_at - start_ts), MIN(start_ts), MAX(start_ts), MIN(ingested_at), MAX(ingested_at) "
            "FROM events").fetchone()
        boards_seen = int(c.execute("SELECT COUNT(*) FROM boards WHERE stats IS NOT NULL").fetchone()[0])
        first_hit = min([at for at in (plan.kill_hub_at, plan.restart_broker_at) if at is not None],
                        default=plan.duration)
        steady = c.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY ingested_at - start_ts), COUNT(*) "
            "FROM events WHERE start_ts < %s", (t0 + first_hit,)).fetchone()
        per_second = c.execute(
            "SELECT floor(ingested_at)::bigint AS s, COUNT(*) FROM events GROUP BY s ORDER BY s").fetchall()
    got = set(ids)
    stats_lines = [ln for ln in log.read_text().splitlines() if "hub stats:" in ln]
    return {
        "plan": plan.__dict__,
        "timeline_s": timeline,
        "produced": total,
        "produced_per_s": round(total / max(r["seconds"] for r in results), 1),
        "worst_producer_lateness_s": max(r["worst_late_s"] for r in results),
        "left_in_board_outboxes": sum(sum(r["left_in_outbox"].values()) for r in results),
        "committed_rows": len(ids),
        "lost": len(expected - got),
        "lost_sample": sorted(expected - got)[:5],
        "unexpected": len(got - expected),
        "duplicated_rows": len(ids) - len(got),
        "latency_s": {"p50": lat[0][0], "p90": lat[0][1], "p99": lat[0][2], "max": lat[1]},
        "latency_before_first_fault_s": {"p50": steady[0][0] if steady[0] else None,
                                          "p90": steady[0][1] if steady[0] else None,
                                          "p99": steady[0][2] if steady[0] else None, "events": steady[1]},
        "ingest_span_s": round(lat[5] - lat[4], 1) if lat[4] else None,
        "peak_ingest_per_s": max((n for _, n in per_second), default=0),
        "boards_with_stats": boards_seen,
        "cpu_seconds": cpu_s,
        "settle_s": round(t_end - (t0 + plan.duration), 1),
        "hub_last_stats": stats_lines[-1].split("hub stats: ", 1)[1] if stats_lines else None,
        "expected_boards": [board_name(i) for i in range(plan.boards)][:1],
    }
