"""The outbox: every message that must reach the broker is committed here (SQLite, WAL) before it is published.

A row leaves the outbox only when the broker acknowledged it (QoS 1 PUBACK). After a broker outage or a crash the
remaining rows are published again in insertion order; consumers de-duplicate by the message key (the event id).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from edgekit.storage.durable import open_durable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    key: str
    topic: str
    payload: bytes


class Outbox:
    """Durable FIFO of (key, topic, payload); safe to share between threads.

    Examples:
        >>> ob = Outbox(":memory:")
        >>> ob.add("e1", "edgekit/dev/events", b"{}")
        True
        >>> [r.key for r in ob.pending()], ob.remove(1), len(ob)
        (['e1'], True, 0)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = open_durable(path, _SCHEMA)

    def add(self, key: str, topic: str, payload: bytes) -> bool:
        """Commit one message; False when a message with this key is already waiting (idempotent)."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO outbox(key, topic, payload, created) VALUES (?, ?, ?, ?)",
                (key, topic, payload, time.time()),
            )
            return cur.rowcount == 1

    def pending(self, limit: int = 100, after_seq: int = 0) -> list[OutboxRow]:
        """Oldest waiting messages with ``seq > after_seq``, in insertion order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, key, topic, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [OutboxRow(int(s), str(k), str(t), bytes(p)) for s, k, t, p in rows]

    def remove(self, seq: int) -> bool:
        """Delete an acknowledged message."""
        with self._lock:
            return self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,)).rowcount == 1

    def expire(self, before: float) -> int:
        """Give up messages committed before ``before`` (epoch seconds); returns how many."""
        return self._delete("DELETE FROM outbox WHERE created < ?", before)

    def drop_oldest(self, n: int) -> int:
        """Give up the ``n`` oldest messages (disk watermark, last resort); returns how many."""
        return self._delete("DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)", n)

    def _delete(self, sql: str, arg: float) -> int:
        with self._lock:
            n = int(self._db.execute(sql, (arg,)).rowcount)
            if n:
                # fold the WAL into the file at once: on a nearly full disk a growing WAL eats what was freed
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def reusable_bytes(self) -> int:
        """Bytes of deleted rows' pages that new messages reuse before the file grows (SQLite freelist)."""
        with self._lock:
            free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
            page = self._db.execute("PRAGMA page_size").fetchone()[0]
        return int(free) * int(page)

    def oldest_created(self) -> float | None:
        """Commit time (epoch seconds) of the oldest waiting message, None when empty."""
        with self._lock:
            row = self._db.execute("SELECT MIN(created) FROM outbox").fetchone()
        return None if row[0] is None else float(row[0])

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
