"""The central store: PostgreSQL through psycopg 3. One transaction per batch; inserts idempotent by event id.

``write`` commits a batch or raises; the caller acknowledges the batch's messages to the broker only after it
returned, so a crash before the commit means the broker sends them again and ``ON CONFLICT DO NOTHING`` drops the
copies. A row the database refuses on its own (a value out of range) is written as a reject instead, so one bad
message never blocks the batch it came in.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edgekit.errors import MissingDependencyError
from edgekit.hub.messages import Parsed

log = logging.getLogger(__name__)

_INSERT_EVENT = """
INSERT INTO events (id, device, source, rule, label, score, box, track_id, start_ts, end_ts, snapshot, snapshot_key,
                    extra, schema_version, topic, ingested_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO NOTHING
"""
_SEEN = """
INSERT INTO boards (device, last_seen, last_event_ts) VALUES (%s, %s, %s)
ON CONFLICT (device) DO UPDATE SET last_seen = GREATEST(boards.last_seen, EXCLUDED.last_seen),
    last_event_ts = GREATEST(boards.last_event_ts, EXCLUDED.last_event_ts)
"""
_AVAILABLE = """
INSERT INTO boards (device, online, availability_at, last_seen) VALUES (%s, %s, %s, %s)
ON CONFLICT (device) DO UPDATE SET online = EXCLUDED.online, availability_at = EXCLUDED.availability_at,
    last_seen = GREATEST(boards.last_seen, EXCLUDED.last_seen)
"""
_STATS = """
INSERT INTO boards (device, stats, stats_at, last_seen) VALUES (%s, %s, %s, %s)
ON CONFLICT (device) DO UPDATE SET stats = EXCLUDED.stats, stats_at = EXCLUDED.stats_at,
    last_seen = GREATEST(boards.last_seen, EXCLUDED.last_seen)
"""
_REJECT = "INSERT INTO rejects (received_at, topic, device, reason, size, sample) VALUES (%s, %s, %s, %s, %s, %s)"


@dataclass(slots=True)
class BatchResult:
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    refused: int = 0  # rows the database refused (written as rejects)


def _event_row(p: Parsed, now: float) -> tuple[Any, ...]:
    e = p.event
    assert e is not None
    snapshot_key = e.extra.get("snapshot_key") if isinstance(e.extra.get("snapshot_key"), str) else None
    return (e.id, p.device, e.source, e.rule, e.label, e.score, list(e.box), e.track_id, e.start_ts, e.end_ts,
            e.snapshot, snapshot_key, json.dumps(e.extra), e.schema_version, p.topic, now)


class FleetStore:
    """A connection to the hub database; reconnects on the next ``write`` after a failure."""

    def __init__(self, dsn: str, connect_timeout_s: float = 5.0) -> None:
        try:
            import psycopg
        except ImportError as e:
            raise MissingDependencyError("psycopg", "pip install 'edgekit[hub]'") from e
        self._psycopg = psycopg
        self.dsn, self.connect_timeout_s = dsn, connect_timeout_s
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._psycopg.connect(self.dsn, connect_timeout=max(1, round(self.connect_timeout_s)),
                                               application_name="edgekit-hub")
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def is_connection_error(self, e: BaseException) -> bool:
        """True for errors that say nothing about the rows (server down, connection lost): retry the batch."""
        errors = self._psycopg.errors
        return isinstance(e, (self._psycopg.OperationalError, self._psycopg.InterfaceError,
                              errors.AdminShutdown, errors.CannotConnectNow))

    def write(self, batch: Sequence[Parsed]) -> BatchResult:
        """Commit the batch in one transaction; raises on a connection problem (nothing committed then)."""
        conn = self._connection()
        try:
            return self._write(conn, batch)
        except Exception as e:
            self._rollback(conn)
            if self.is_connection_error(e):
                self.close()
                raise
            # A row the database refuses (DataError, ...): write the batch one message at a time instead.
            log.warning("database refused a batch (%s: %s); writing it row by row", type(e).__name__, e)
            return self._write_one_by_one(conn, batch)

    def _rollback(self, conn: Any) -> None:
        try:
            conn.rollback()
        except Exception:
            self.close()

    def _write(self, conn: Any, batch: Sequence[Parsed]) -> BatchResult:
        now = time.time()
        res = BatchResult()
        events = [p for p in batch if p.kind == "event"]
        with conn.cursor() as cur:
            if events:
                cur.executemany(_INSERT_EVENT, [_event_row(p, now) for p in events])
                res.inserted = max(0, cur.rowcount)
                res.duplicates = len(events) - res.inserted
                latest: dict[str, float] = {}
                for p in events:
                    assert p.device is not None and p.event is not None
                    latest[p.device] = max(latest.get(p.device, p.event.start_ts), p.event.start_ts)
                # sorted: several hubs updating the same boards then lock them in one order (no deadlock)
                cur.executemany(_SEEN, [(d, now, ts) for d, ts in sorted(latest.items())])
            states = {p.device: p for p in batch if p.kind == "available"}  # the newest state per board wins
            if states:
                cur.executemany(_AVAILABLE, [(d, p.online, p.received, now) for d, p in sorted(states.items())
                                             if d is not None])
            stats = {p.device: p for p in batch if p.kind == "stats"}
            if stats:
                cur.executemany(_STATS, [(d, json.dumps(p.stats), p.received, now) for d, p in sorted(stats.items())
                                         if d is not None])
            rejects = [p for p in batch if p.kind == "reject"]
            if rejects:
                cur.executemany(_REJECT, [(p.received, p.topic, p.device, p.reason, p.size, p.sample)
                                          for p in rejects])
                res.rejected = len(rejects)
        conn.commit()
        return res

    def _write_one_by_one(self, conn: Any, batch: Sequence[Parsed]) -> BatchResult:
        total = BatchResult()
        for p in batch:
            try:
                r = self._write(conn, [p])
            except Exception as e:
                self._rollback(conn)
                if self.is_connection_error(e):
                    self.close()
                    raise
                reason = f"database refused it: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
                log.warning("message on %s refused by the database: %s", p.topic, reason)
                r = self._write(conn, [Parsed("reject", p.topic, p.device, p.received, reason=reason, size=p.size,
                                              sample=p.sample or (p.event.to_json()[:200] if p.event else ""))])
                r.refused = 1
            total.inserted += r.inserted
            total.duplicates += r.duplicates
            total.rejected += r.rejected
            total.refused += r.refused
        return total
