"""SQLite store of :class:`~edgekit.types.Event` values: the daemon writes, the assistant and CLI read.

WAL journal so readers never block the writer; one connection guarded by a lock so any thread may call in;
every query is parameterised and the only identifiers that reach SQL come from a fixed allow-list.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from edgekit.errors import EdgekitError
from edgekit.events.reader import TimeArg
from edgekit.types import Event

log = logging.getLogger(__name__)

#: Columns that ``count_by`` may group on (the only column names ever put into SQL text).
EVENT_FIELDS = ("label", "source", "rule", "device")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    source TEXT NOT NULL,
    device TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL,
    score REAL NOT NULL,
    box TEXT NOT NULL,
    track_id INTEGER,
    start_ts REAL NOT NULL,
    end_ts REAL,
    snapshot TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    schema_version INTEGER NOT NULL,
    clip TEXT
);
CREATE INDEX IF NOT EXISTS events_start ON events (start_ts);
CREATE INDEX IF NOT EXISTS events_label_start ON events (label, start_ts);
CREATE INDEX IF NOT EXISTS events_source_start ON events (source, start_ts);
"""
_COLUMNS = (
    "id, rule, source, device, label, score, box, track_id, start_ts, end_ts, snapshot, extra, schema_version, clip"
)
_STORE_VERSION = 2  # 2 added the `clip` column; a version 1 store is migrated when opened for writing
_READABLE_STORE_VERSIONS = (1, 2)


def timestamp(value: TimeArg) -> float | None:
    """A time filter as epoch seconds (None stays None)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _row_to_event(row: tuple[Any, ...]) -> Event:
    (eid, rule, source, device, label, score, box, track_id, start_ts, end_ts, snapshot, extra, version, clip) = row
    return Event(
        id=eid,
        rule=rule,
        source=source,
        device=device,
        label=label,
        score=float(score),
        box=tuple(json.loads(box)),
        track_id=track_id,
        start_ts=float(start_ts),
        end_ts=None if end_ts is None else float(end_ts),
        snapshot=snapshot,
        clip=clip,
        extra=json.loads(extra),
        schema_version=int(version),
    )


class EventStore:
    """Events in one SQLite file.

    ``readonly=True`` opens an existing store without the right to change it (what the assistant uses);
    a missing file is then an :class:`EdgekitError`. Time filters take epoch seconds or ``datetime``;
    ``since`` is inclusive, ``until`` exclusive, both compared with the event's ``start_ts``.

    Examples:
        >>> from edgekit.types import Event
        >>> e = Event(rule="fall", source="cam1", label="Fall", score=0.9, box=(0, 0, 1, 1), start_ts=1.0)
        >>> with EventStore(":memory:") as store:
        ...     store.add(e)
        ...     store.count(label="Fall")
        True
        1
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        self.readonly = readonly
        self._lock = threading.Lock()
        try:
            if readonly:
                if self.path is None or not self.path.is_file():
                    raise EdgekitError(
                        f"event store {path} does not exist: start the daemon (`edgekit run`) "
                        "or pass --events PATH"
                    )
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                if self.path is not None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(str(path), check_same_thread=False)
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.executescript(_SCHEMA)
                cols = {r[1] for r in self._conn.execute("PRAGMA table_info(events)")}
                if "clip" not in cols:  # a version 1 store
                    self._conn.execute("ALTER TABLE events ADD COLUMN clip TEXT")
                self._conn.execute(f"PRAGMA user_version={_STORE_VERSION}")
                self._conn.commit()
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._check_schema()
        except sqlite3.DatabaseError as e:
            raise EdgekitError(
                f"event store {path} is not a usable SQLite database ({e}): move it away"
            ) from e

    def _check_schema(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        self._columns = _COLUMNS if version >= 2 else _COLUMNS.replace(", clip", ", NULL")
        has_table = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='events'"
        ).fetchone()
        if not has_table or version not in _READABLE_STORE_VERSIONS:
            raise EdgekitError(
                f"{self.path} is not an edgekit event store "
                f"(schema version {version}, expected {_STORE_VERSION})"
            )

    # writing --------------------------------------------------------------------------------------------
    def add(self, event: Event) -> bool:
        """Store one event; returns False when an event with that id is already there (idempotent)."""
        return self.add_many([event]) == 1

    def add_many(self, events: Iterable[Event]) -> int:
        """Store several events in one transaction; returns how many were new."""
        if self.readonly:
            raise EdgekitError("this event store was opened read-only")
        rows = [
            (
                e.id,
                e.rule,
                e.source,
                e.device,
                e.label,
                float(e.score),
                json.dumps([float(v) for v in e.box]),
                e.track_id,
                float(e.start_ts),
                e.end_ts,
                e.snapshot,
                json.dumps(e.extra),
                e.schema_version,
                e.clip,
            )
            for e in events
        ]
        with self._lock, self._conn:
            before = self._conn.total_changes
            self._conn.executemany(
                f"INSERT OR IGNORE INTO events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
            )
            return self._conn.total_changes - before

    def delete_oldest(self, n: int | None = None, before_ts: float | None = None) -> int:
        """Delete the ``n`` oldest events and/or those that started before ``before_ts`` (retention)."""
        if self.readonly:
            raise EdgekitError("this event store was opened read-only")
        with self._lock, self._conn:
            done = 0
            if before_ts is not None:
                done += self._conn.execute("DELETE FROM events WHERE start_ts < ?", (before_ts,)).rowcount
            if n is not None and n > 0:
                done += self._conn.execute(
                    "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events ORDER BY start_ts, rowid LIMIT ?)",
                    (n,),
                ).rowcount
        if done:
            # deleting writes pages to the WAL; fold them into the file now so a nearly full disk gets space back
            with self._lock:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(done)

    def reusable_bytes(self) -> int:
        """Bytes of deleted rows' pages that new events will reuse before the file grows (SQLite freelist)."""
        with self._lock:
            free = self._conn.execute("PRAGMA freelist_count").fetchone()[0]
            page = self._conn.execute("PRAGMA page_size").fetchone()[0]
        return int(free) * int(page)

    # reading --------------------------------------------------------------------------------------------
    @staticmethod
    def _where(
        label: str | None, source: str | None, rule: str | None, since: TimeArg, until: TimeArg,
        device: str | None = None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("label", label), ("source", source), ("rule", rule), ("device", device)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if (s := timestamp(since)) is not None:
            clauses.append("start_ts >= ?")
            params.append(s)
        if (u := timestamp(until)) is not None:
            clauses.append("start_ts < ?")
            params.append(u)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _fetch(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def query(
        self,
        label: str | None = None,
        source: str | None = None,
        rule: str | None = None,
        since: TimeArg = None,
        until: TimeArg = None,
        limit: int = 100,
        oldest_first: bool = False,
        device: str | None = None,
    ) -> list[Event]:
        """Matching events, newest first (or oldest first), at most ``limit``."""
        if limit < 0:
            raise EdgekitError(f"limit must be >= 0, got {limit}")
        where, params = self._where(label, source, rule, since, until, device)
        order = "ASC" if oldest_first else "DESC"
        rows = self._fetch(
            f"SELECT {self._columns} FROM events{where} ORDER BY start_ts {order}, rowid {order} LIMIT ?",
            [*params, limit],
        )
        return [_row_to_event(r) for r in rows]

    def get(self, event_id: str) -> Event | None:
        """The event with this id, or None."""
        rows = self._fetch(f"SELECT {_COLUMNS} FROM events WHERE id = ?", [event_id])
        return _row_to_event(rows[0]) if rows else None

    def count(
        self,
        label: str | None = None,
        source: str | None = None,
        rule: str | None = None,
        since: TimeArg = None,
        until: TimeArg = None,
        device: str | None = None,
    ) -> int:
        """How many events match."""
        where, params = self._where(label, source, rule, since, until, device)
        return int(self._fetch(f"SELECT COUNT(*) FROM events{where}", params)[0][0])

    def count_by(
        self,
        field: str,
        label: str | None = None,
        source: str | None = None,
        rule: str | None = None,
        since: TimeArg = None,
        until: TimeArg = None,
        device: str | None = None,
    ) -> dict[str, int]:
        """Counts of matching events grouped by ``field`` (one of :data:`EVENT_FIELDS`), largest first."""
        if field not in EVENT_FIELDS:
            raise EdgekitError(f"cannot group events by {field!r}: choose one of {', '.join(EVENT_FIELDS)}")
        where, params = self._where(label, source, rule, since, until, device)
        rows = self._fetch(
            f"SELECT {field}, COUNT(*) AS n FROM events{where} GROUP BY {field} ORDER BY n DESC, {field}",
            params,
        )
        return {str(k): int(n) for k, n in rows}

    def last(self, n: int = 10) -> list[Event]:
        """The ``n`` newest events."""
        return self.query(limit=n)

    def time_range(self) -> tuple[float, float] | None:
        """(oldest, newest) ``start_ts`` in the store, or None when it is empty."""
        lo, hi = self._fetch("SELECT MIN(start_ts), MAX(start_ts) FROM events", [])[0]
        return None if lo is None else (float(lo), float(hi))

    # lifecycle ------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection; further calls fail."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
