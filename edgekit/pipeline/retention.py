"""Retention: keep the state folder within its bounds so the board's storage never fills.

One :meth:`Retention.sweep` (the daemon runs it every ``retention.interval_s``) applies, in order:

1. ages: snapshots, stored events and undelivered outbox messages older than their limits;
2. sizes: the oldest snapshots beyond ``snapshots_max_mb``, the oldest stored events beyond ``events_max_rows``;
3. the free-disk watermark: while the file system holding the state folder has less than ``min_free_mb`` free,
   the oldest snapshots go first, then the oldest stored events, and undelivered events last.

Every deletion is counted by ``(kind, reason)`` in :attr:`Retention.deleted` (exported as
``edgekit_retention_deleted_total``).
"""

from __future__ import annotations

import collections
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from edgekit.config.retention import RetentionConfig
from edgekit.delivery.outbox import Outbox
from edgekit.events.store import EventStore

log = logging.getLogger(__name__)

DAY = 86400.0
MB = 1024 * 1024
_BATCH = 50  # rows deleted per step under the watermark, before free space is measured again


class Retention:
    """Applies a :class:`RetentionConfig` to a snapshot folder, an event store and an outbox."""

    def __init__(self, cfg: RetentionConfig, snapshots: Path, store: EventStore, outbox: Outbox,
                 now: Callable[[], float] = time.time, clips: Sequence[Path] = ()) -> None:
        self.cfg, self.snapshots, self.store, self.outbox, self._now = cfg, snapshots, store, outbox, now
        self.clips = sorted(set(clips))
        self.deleted: collections.Counter[tuple[str, str]] = collections.Counter()
        self.free_mb: float | None = None
        self.snapshots_mb = 0.0
        self.clips_mb = 0.0

    def free_bytes(self) -> int:
        """Free space for new state: the file system's, plus pages the databases freed and will reuse first
        (deleting rows does not shrink an SQLite file, so it is counted here rather than hoped for on disk)."""
        folder = self.snapshots if self.snapshots.exists() else self.snapshots.parent
        return shutil.disk_usage(folder).free + self.store.reusable_bytes() + self.outbox.reusable_bytes()

    def _snapshot_files(self) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of every snapshot, oldest first."""
        return _oldest_first([self.snapshots], "*.jpg")

    def _clip_files(self) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of every event clip, oldest first; the recorders' rolling segments are theirs."""
        return _oldest_first(self.clips, "*.mp4", skip_parent="segments")

    def _unlink(self, p: Path, reason: str, kind: str = "snapshot") -> int:
        try:
            size = p.stat().st_size
            p.unlink()
        except FileNotFoundError:
            return 0
        self.deleted[(kind, reason)] += 1
        return size

    def _sweep_clips(self, now: float) -> list[tuple[float, int, Path]]:
        """Clips beyond their age and total size go, oldest first; returns the ones left."""
        cfg, files = self.cfg, self._clip_files()
        if cfg.clips_max_age_days is not None:
            limit = now - cfg.clips_max_age_days * DAY
            old = [f for f in files if f[0] < limit]
            for _, _, p in old:
                self._unlink(p, "age", "clip")
            files = files[len(old):]
        total = sum(f[1] for f in files)
        if cfg.clips_max_mb is not None:
            while files and total > cfg.clips_max_mb * MB:
                total -= self._unlink(files.pop(0)[2], "size", "clip")
        return files

    def sweep(self) -> dict[tuple[str, str], int]:
        """One pass; returns what it deleted in this pass by (kind, reason)."""
        before = collections.Counter(self.deleted)
        cfg, now = self.cfg, self._now()
        clips = self._sweep_clips(now)
        files = self._snapshot_files()
        if cfg.snapshots_max_age_days is not None:
            limit = now - cfg.snapshots_max_age_days * DAY
            old = [f for f in files if f[0] < limit]
            for _, _, p in old:
                self._unlink(p, "age")
            files = files[len(old):]
        if cfg.events_max_age_days is not None:
            self.deleted[("event", "age")] += self.store.delete_oldest(before_ts=now - cfg.events_max_age_days * DAY)
        if cfg.outbox_max_age_days is not None:
            n = self.outbox.expire(now - cfg.outbox_max_age_days * DAY)
            if n:
                log.warning("gave up %d undelivered event(s) older than %g days", n, cfg.outbox_max_age_days)
            self.deleted[("outbox", "age")] += n
        total = sum(f[1] for f in files)
        if cfg.snapshots_max_mb is not None:
            while files and total > cfg.snapshots_max_mb * MB:
                total -= self._unlink(files.pop(0)[2], "size")
        if cfg.events_max_rows is not None:
            extra = self.store.count() - cfg.events_max_rows
            if extra > 0:
                self.deleted[("event", "size")] += self.store.delete_oldest(extra)
        self._watermark(files, clips)
        self.snapshots_mb = round(sum(f[1] for f in self._snapshot_files()) / MB, 2)
        self.clips_mb = round(sum(f[1] for f in self._clip_files()) / MB, 2)
        self.free_mb = round(self.free_bytes() / MB, 1)
        done = {k: v - before.get(k, 0) for k, v in self.deleted.items() if v - before.get(k, 0)}
        if done:
            log.info("retention deleted %s", ", ".join(f"{n} {k} ({r})" for (k, r), n in sorted(done.items())))
        return done

    def _watermark(self, files: list[tuple[float, int, Path]], clips: list[tuple[float, int, Path]]) -> None:
        want = self.cfg.min_free_mb * MB
        if want <= 0 or self.free_bytes() >= want:
            return
        # clips before snapshots: each is ~100 snapshots' worth, and the event keeps its snapshot
        while clips and self.free_bytes() < want:
            self._unlink(clips.pop(0)[2], "disk", "clip")
        # oldest snapshots first, one at a time: they are the bulk and the least precious
        while files and self.free_bytes() < want:
            self._unlink(files.pop(0)[2], "disk")
        while self.free_bytes() < want and self.store.count():
            self.deleted[("event", "disk")] += self.store.delete_oldest(_BATCH)
        # undelivered events last: an alert not yet sent is what the user would miss most
        while self.free_bytes() < want and len(self.outbox):
            n = self.outbox.drop_oldest(_BATCH)
            log.error("disk below %g MB free: gave up %d undelivered event(s)", self.cfg.min_free_mb, n)
            self.deleted[("outbox", "disk")] += n
        if self.free_bytes() < want:
            log.error("disk still below %g MB free after retention: something else fills %s",
                      self.cfg.min_free_mb, os.path.dirname(self.snapshots))


def _oldest_first(
    folders: Iterable[Path], pattern: str, skip_parent: str | None = None
) -> list[tuple[float, int, Path]]:
    """(mtime, size, path) of the files matching ``pattern`` below ``folders``, oldest first; a file deleted while
    they are listed is left out."""
    out = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.rglob(pattern):
            if skip_parent is not None and p.parent.name == skip_parent:
                continue
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            out.append((st.st_mtime, st.st_size, p))
    out.sort()
    return out
