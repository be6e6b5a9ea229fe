"""Simulated boards for load tests of the hub: each board is edgekit's real ``Outbox`` + ``MqttLink`` (no detector).

``python -m tests.hub.simulate --port 1883 --first 0 --count 25 --rate 250 --duration 120 --state DIR``
runs boards ``sim-000`` … ``sim-024`` in one process, together producing ``rate`` events per second on a fixed
schedule (``start_ts`` is the wall time the event was made, for end-to-end latency), plus a stats message per board
every few seconds. Event ids are ``uuid5(board/seq)``, so a checker knows every id from the per-board counts the
process prints as JSON when it ends (after its outboxes drained, bounded by ``--drain-timeout``).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from edgekit.config.daemon import MQTTConfig
from edgekit.delivery.mqtt import MqttLink
from edgekit.delivery.outbox import Outbox
from edgekit.types import Event


def board_name(i: int) -> str:
    return f"sim-{i:03d}"


def event_id(board: str, seq: int) -> str:
    """The id of a board's ``seq``-th simulated event (deterministic, so lost and doubled ones can be named)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"edgekit-sim/{board}/{seq}"))


def run_boards(host: str, port: int, first: int, count: int, rate: float, duration: float, state: Path,
               drain_timeout: float = 120.0, stats_every: float = 5.0) -> dict[str, Any]:
    """Run ``count`` boards for ``duration`` seconds at ``rate`` events/s in total; returns counts and lateness."""
    names = [board_name(i) for i in range(first, first + count)]
    cfg = MQTTConfig(host=host, port=port, wait_for_broker=True, keepalive=10, discovery=False)
    links = [MqttLink(cfg, n, Outbox(state / f"{n}.db"), window=50) for n in names]
    for link in links:
        link.start()
    seqs = dict.fromkeys(names, 0)
    period = 1.0 / rate
    t0 = time.time()
    next_t, next_stats, worst_late, i = t0, t0, 0.0, 0
    while True:
        now = time.time()
        if now - t0 >= duration:
            break
        if now < next_t:
            time.sleep(min(next_t - now, 0.05))
            continue
        worst_late = max(worst_late, now - next_t)
        name, link = names[i % count], links[i % count]
        link.publish_event(Event(rule="sim", source="cam0", label="Normal", score=0.9, box=(1.0, 2.0, 3.0, 4.0),
                                 start_ts=time.time(), device=name, track_id=seqs[name],
                                 id=event_id(name, seqs[name])))
        seqs[name] += 1
        i += 1
        next_t += period
        if now >= next_stats:
            for n, lk in zip(names, links, strict=True):
                lk.publish_stats(json.dumps({"ts": now, "device": n, "cpu_temp_c": 45.0,
                                             "mqtt": {"pending": len(lk.outbox), **lk.counters}}))
            next_stats = now + stats_every
    produced_s = time.time() - t0
    deadline = time.monotonic() + drain_timeout
    while any(len(lk.outbox) for lk in links) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {lk.device: len(lk.outbox) for lk in links if len(lk.outbox)}
    stoppers = [threading.Thread(target=lk.stop, kwargs={"flush_timeout_s": 1.0}) for lk in links]
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join()
    return {"produced": seqs, "seconds": round(produced_s, 2), "worst_late_s": round(worst_late, 3),
            "left_in_outbox": left}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--rate", type=float, default=100.0, help="events/s of all boards of this process together")
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--state", type=Path, required=True, help="folder for the boards' outboxes")
    p.add_argument("--drain-timeout", type=float, default=120.0)
    a = p.parse_args(argv)
    a.state.mkdir(parents=True, exist_ok=True)
    out = run_boards(a.host, a.port, a.first, a.count, a.rate, a.duration, a.state, a.drain_timeout)
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
