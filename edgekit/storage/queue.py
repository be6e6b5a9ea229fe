"""The upload queue: every object that must reach S3 is committed here (SQLite, WAL) before it is uploaded.

Like the MQTT outbox, a row leaves only after the store confirmed the upload. A failed attempt pushes the row's
``next_try`` out with exponential backoff, so a storage outage costs nothing but a growing queue. Object keys are
unique: queueing the same key twice is a no-op, so a retried event never becomes two objects.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from edgekit.storage.durable import open_durable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    path TEXT,
    body BLOB,
    content_type TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    created REAL NOT NULL,
    last_error TEXT
)
"""


@dataclass(frozen=True, slots=True)
class UploadJob:
    """One object to upload: either a local file (``path``) or bytes held in the queue (``body``)."""

    seq: int
    key: str
    path: str | None
    body: bytes | None
    content_type: str
    attempts: int


class UploadQueue:
    """Durable set of objects to upload, oldest due first; safe to share between threads.

    Examples:
        >>> q = UploadQueue(":memory:")
        >>> q.add_bytes("p/e1.json", b"{}", "application/json"), q.add_bytes("p/e1.json", b"{}", "application/json")
        (True, False)
        >>> [j.key for j in q.due()], q.done(1), len(q)
        (['p/e1.json'], True, 0)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = open_durable(path, _SCHEMA)  # the outbox's durability: WAL + FULL sync

    def _add(self, key: str, path: str | None, body: bytes | None, content_type: str) -> bool:
        now = time.time()
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO uploads(key, path, body, content_type, next_try, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, path, body, content_type, now, now),
            )
            return cur.rowcount == 1

    def add_file(self, key: str, path: str | Path, content_type: str = "application/octet-stream") -> bool:
        """Queue a local file (read at upload time); False when ``key`` is already queued."""
        return self._add(key, str(path), None, content_type)

    def add_bytes(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> bool:
        """Queue bytes kept in the queue itself (event JSON); False when ``key`` is already queued."""
        return self._add(key, None, body, content_type)

    def due(self, limit: int = 20, now: float | None = None) -> list[UploadJob]:
        """Rows whose backoff has passed, oldest first."""
        t = time.time() if now is None else now
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, key, path, body, content_type, attempts FROM uploads WHERE next_try <= ? "
                "ORDER BY next_try, seq LIMIT ?",
                (t, limit),
            ).fetchall()
        return [UploadJob(int(s), str(k), p, None if b is None else bytes(b), str(c), int(a))
                for s, k, p, b, c, a in rows]

    def next_due_in(self, now: float | None = None) -> float | None:
        """Seconds until the next row is due (0 when one is due now); None when the queue is empty."""
        t = time.time() if now is None else now
        with self._lock:
            row = self._db.execute("SELECT MIN(next_try) FROM uploads").fetchone()
        return None if row[0] is None else max(0.0, float(row[0]) - t)

    def mark_attempt(self, seq: int) -> None:
        """Record that an upload of ``seq`` starts: after a crash, such a row is checked on the store first."""
        with self._lock:
            self._db.execute("UPDATE uploads SET attempts = attempts + 1 WHERE seq = ?", (seq,))

    def retry_later(self, seq: int, delay_s: float, error: str) -> None:
        """Push ``seq`` back by ``delay_s`` after a failed attempt."""
        with self._lock:
            self._db.execute("UPDATE uploads SET next_try = ?, last_error = ? WHERE seq = ?",
                             (time.time() + delay_s, error[:500], seq))

    def done(self, seq: int) -> bool:
        """Delete a row the store confirmed (or one that can never succeed, e.g. its file is gone)."""
        with self._lock:
            return self._db.execute("DELETE FROM uploads WHERE seq = ?", (seq,)).rowcount == 1

    def oldest_age_s(self) -> float:
        """Age of the oldest waiting row (0 when empty), for health and stats."""
        with self._lock:
            row = self._db.execute("SELECT MIN(created) FROM uploads").fetchone()
        return 0.0 if row[0] is None else max(0.0, time.time() - float(row[0]))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
