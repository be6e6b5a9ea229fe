"""SQLite databases that are queues: what is committed survives a crash and a power cut."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_durable(path: str | Path, schema: str) -> sqlite3.Connection:
    """A SQLite queue database: WAL lets one thread add while another reads, FULL sync makes a commit survive
    power loss; ``schema`` is run once (``CREATE ... IF NOT EXISTS``)."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    db.execute(schema)
    return db
