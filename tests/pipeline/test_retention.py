"""Bounded storage: ages and sizes, and a free-disk watermark on a small file system of its own (a tmpfs with a size)
filled while the daemon runs: oldest snapshots go first, stored events next, undelivered events last, all counted."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from edgekit.config.daemon import DaemonConfig
from edgekit.config.retention import RetentionConfig
from edgekit.delivery.outbox import Outbox
from edgekit.events.store import EventStore
from edgekit.pipeline.daemon import Daemon
from edgekit.pipeline.retention import DAY, MB, Retention
from edgekit.types import Event
from tests.helpers import wait_until


def _event(i: int, ts: float, pad: int = 0) -> Event:
    return Event(rule="r", source="cam", label="Normal", score=0.9, box=(0, 0, 1, 1), start_ts=ts,
                 id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"ret/{i}")), extra={"pad": "x" * pad})


def _snapshots(folder: Path, n: int, size: int, t0: float) -> list[Path]:
    out = []
    for i in range(n):
        p = folder / "cam" / f"{i:04d}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(size))
        os.utime(p, (t0 + i, t0 + i))
        out.append(p)
    return out


def test_ages_and_sizes(tmp_path):
    now = time.time()
    snaps = _snapshots(tmp_path / "snapshots", 10, 100_000, now - 40 * DAY)  # 0-9: 40 days old ...
    for p in snaps[5:]:
        os.utime(p, (now - 60, now - 60))  # ... but 5-9 are a minute old
    store, outbox = EventStore(tmp_path / "events.db"), Outbox(tmp_path / "outbox.db")
    store.add_many([_event(i, now - (100 if i < 3 else 1) * DAY) for i in range(10)])
    for i in range(4):
        outbox.add(f"k{i}", "t", b"{}")
    cfg = RetentionConfig(snapshots_max_age_days=30, snapshots_max_mb=0.25, events_max_age_days=90,
                          events_max_rows=5, outbox_max_age_days=7, min_free_mb=0)
    r = Retention(cfg, tmp_path / "snapshots", store, outbox)
    done = r.sweep()
    # 5 too old; of the 5 left (~0.48 MB) the 3 oldest go to get under 0.25 MB
    assert done == {("snapshot", "age"): 5, ("snapshot", "size"): 3, ("event", "age"): 3, ("event", "size"): 2}
    assert [p.exists() for p in snaps] == [False] * 8 + [True] * 2
    assert store.count() == 5 and len(outbox) == 4
    later = Retention(cfg, tmp_path / "snapshots", store, outbox, now=lambda: time.time() + 8 * DAY)
    assert later.sweep()[("outbox", "age")] == 4 and len(outbox) == 0


@pytest.fixture
def small_fs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 24 MB tmpfs of its own (root can mount one; elsewhere the test is skipped)."""
    mnt = tmp_path / "fs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): needs root")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def _metric(port: int, kind: str, reason: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(f'edgekit_retention_deleted_total{{kind="{kind}",reason="{reason}"}}'):
            return float(line.split()[-1])
    return 0.0


def _fill(path: Path, d: Daemon, short_mb: float) -> None:
    """Grow ``path`` until the state's free space is ``short_mb`` below the watermark."""
    extra = d.retention.free_bytes() - int((d.cfg.retention.min_free_mb - short_mb) * MB)
    if extra > 0:
        with path.open("ab") as f:
            f.write(b"\0" * extra)


@pytest.mark.slow
def test_watermark_on_a_small_file_system_filled_while_the_daemon_runs(small_fs, tmp_path):
    state = small_fs / "state"
    now = time.time()
    snaps = _snapshots(state / "snapshots", 20, 200_000, now - 3600)  # 4 MB
    store = EventStore(state / "events.db")
    store.add_many([_event(i, now - 600 + i, pad=1000) for i in range(1000)])  # ~1.2 MB
    store.close()
    outbox = Outbox(state / "outbox.db")
    for i in range(3000):
        outbox.add(f"u{i}", "edgekit/d/events", b"x" * 1000)  # ~3.3 MB waiting for a broker that is away
    outbox.close()
    cfg = DaemonConfig.model_validate({
        "device": "full", "state_dir": str(state),
        "cameras": {"cam": {"source": "synthetic:0", "enabled": False}},
        "mqtt": None, "metrics": {"enabled": True, "port": 0},
        "retention": {"interval_s": 0.2, "min_free_mb": 6, "events_max_age_days": None, "events_max_rows": None,
                      "snapshots_max_age_days": None, "snapshots_max_mb": None, "outbox_max_age_days": None},
    })
    d = Daemon(cfg)
    stop = threading.Event()
    d.start()
    runner = threading.Thread(target=d.run, args=(stop,), kwargs={"stats_every_s": 0.2})
    runner.start()
    port = d.metrics.port
    filler = small_fs / "other-data.bin"  # something else on the card grows
    try:
        wait_until(lambda: d.retention.free_mb is not None, 60, what="retention's first look at the disk")
        assert _metric(port, "snapshot", "disk") == 0
        # 1. 1.5 MB short: some of the oldest snapshots (4 MB) go, nothing else
        _fill(filler, d, short_mb=1.5)
        wait_until(lambda: d.retention.free_bytes() >= 6 * MB and _metric(port, "snapshot", "disk") > 0, 60, 0.1,
                   what="6 MB free by deleting snapshots")
        gone = [not p.exists() for p in snaps]
        assert any(gone) and not all(gone)
        assert gone == sorted(gone, reverse=True), "not the oldest first"
        assert _metric(port, "event", "disk") == 0 and _metric(port, "outbox", "disk") == 0
        # 2. more than the snapshots left can cover: stored events go next, the undelivered ones stay
        left = sum(p.stat().st_size for p in snaps if p.exists()) / MB
        _fill(filler, d, short_mb=left + 0.4)
        wait_until(lambda: d.retention.free_bytes() >= 6 * MB and _metric(port, "event", "disk") > 0, 60, 0.1,
                   what="6 MB free by deleting stored events")
        assert not any(p.exists() for p in snaps)
        assert 0 < d.store.count() < 1000
        assert _metric(port, "outbox", "disk") == 0 and len(d.outbox) == 3000
        # 3. nearly full: the rest of the stored events, then the oldest undelivered events are given up, counted
        events_mb = (os.path.getsize(state / "events.db") - d.store.reusable_bytes()) / MB
        _fill(filler, d, short_mb=events_mb + 1.5)
        wait_until(lambda: d.retention.free_bytes() >= 6 * MB and _metric(port, "outbox", "disk") > 0, 60, 0.1,
                   what="6 MB free by giving up undelivered events")
        assert d.store.count() == 0 and 0 < len(d.outbox) < 3000
        kept = [r.key for r in d.outbox.pending(limit=5000)]
        assert kept == [f"u{i}" for i in range(3000 - len(kept), 3000)], "not the oldest undelivered first"
        assert runner.is_alive()
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).status == 200
    finally:
        stop.set()
        runner.join(30)
        d.close()
        with contextlib.suppress(OSError):
            filler.unlink()
