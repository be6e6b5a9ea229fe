"""Read side of the central store: each board's state (``edgekit fleet status``), event queries
(``edgekit fleet events``) and the assistant's reader over them (``edgekit ask --hub``). Parameterised SQL only;
filters are the ones the assistant's event query has (camera, label, rule, track, time window) plus the board."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.events import EVENT_FIELDS, TimeArg, timestamp
from edgekit.types import Event


def connect(dsn: str, timeout_s: float = 5.0) -> Any:
    """A psycopg connection to a hub database; a refused or wrong DSN, or a database the hub never migrated, is
    one clear ``EdgekitError``."""
    try:
        import psycopg
    except ImportError as e:
        raise MissingDependencyError("psycopg", "pip install 'edgekit[hub]'") from e
    try:
        conn = psycopg.connect(dsn, connect_timeout=max(1, round(timeout_s)), autocommit=True)
    except psycopg.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EdgekitError(f"cannot reach the hub database: {first}") from None
    tables = conn.execute("SELECT to_regclass('events'), to_regclass('boards')").fetchone() or (None,)
    if None in tables:
        name = conn.info.dbname
        conn.close()
        raise EdgekitError(f"the database {name} has no hub tables yet: run `edgekit hub --config hub.yaml "
                           "--migrate-only` once (the hub migrates it when it starts)")
    return conn


def _state(online: bool | None, last_seen: float, now: float, offline_after_s: float) -> str:
    if online is False:
        return "offline"
    if now - last_seen > offline_after_s:
        return "stale"
    return "online" if online else "unknown"


def board_status(conn: Any, offline_after_s: float = 120.0, now: float | None = None) -> list[dict[str, Any]]:
    """One dict per board: state (online/offline from its last will, stale when silent), last event, software
    and model versions, outbox backlog and temperature from its latest stats, event count."""
    t = time.time() if now is None else now
    rows = conn.execute(
        "SELECT b.device, b.online, b.last_seen, b.last_event_ts, b.stats, b.stats_at, "
        "(SELECT COUNT(*) FROM events e WHERE e.device = b.device) FROM boards b ORDER BY b.device"
    ).fetchall()
    out = []
    for device, online, last_seen, last_event_ts, stats, stats_at, n_events in rows:
        s: dict[str, Any] = stats or {}
        mqtt: dict[str, Any] = s["mqtt"] if isinstance(s.get("mqtt"), dict) else {}
        bundle: dict[str, Any] = s["bundle"] if isinstance(s.get("bundle"), dict) else {}
        out.append({
            "device": device,
            "state": _state(online, float(last_seen), t, offline_after_s),
            "last_seen_s": round(t - float(last_seen), 1),
            "last_event_ts": last_event_ts,
            "events": int(n_events),
            "backlog": mqtt.get("pending"),
            "temp_c": s.get("cpu_temp_c"),
            "version": bundle.get("version") or s.get("version"),
            "models": bundle.get("models") or s.get("models"),
            "stats_age_s": None if stats_at is None else round(t - float(stats_at), 1),
        })
    return out


@dataclass(frozen=True, slots=True)
class EventFilter:
    """The assistant's event filters, plus ``device``; times are epoch seconds (None: open)."""

    device: str | None = None
    camera: str | None = None
    label: str | None = None
    rule: str | None = None
    track: int | None = None
    since: float | None = None
    until: float | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (("device", self.device), ("source", self.camera), ("label", self.label),
                              ("rule", self.rule), ("track_id", self.track)):
            if value is not None:
                clauses.append(f"{column} = %s")
                args.append(value)
        if self.since is not None:
            clauses.append("start_ts >= %s")
            args.append(self.since)
        if self.until is not None:
            clauses.append("start_ts < %s")
            args.append(self.until)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


_COLUMNS = ("id", "device", "source", "rule", "label", "score", "box", "track_id", "start_ts", "end_ts", "snapshot",
            "snapshot_key", "ingested_at")
_EVENT_COLUMNS = ("id", "device", "source", "rule", "label", "score", "box", "track_id", "start_ts", "end_ts",
                  "snapshot", "extra", "schema_version")


def _select(conn: Any, columns: tuple[str, ...], flt: EventFilter, limit: int,
            oldest_first: bool = False) -> list[tuple[Any, ...]]:
    where, args = flt.where()
    order = "ASC" if oldest_first else "DESC"
    return list(conn.execute(f"SELECT {', '.join(columns)} FROM events{where} ORDER BY start_ts {order}, id {order} "
                             "LIMIT %s", [*args, limit]).fetchall())


def query_events(conn: Any, flt: EventFilter, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first, at most ``limit``."""
    return [dict(zip(_COLUMNS, r, strict=True)) for r in _select(conn, _COLUMNS, flt, limit)]


def own_key(key: str, device: str, prefix: str) -> bool:
    """True when ``key`` lies under the board's own folder ``<prefix>/<device>/`` of the fleet's bucket (the layout
    of :func:`edgekit.storage.s3.object_keys`), with no empty, ``.`` or ``..`` part that a store may resolve.

    Examples:
        >>> own_key("site/gate/2026-01-02/e1.jpg", "gate", "site"), own_key("site/door/2026-01-02/e1.jpg", "gate",
        ...                                                                    "site")
        (True, False)
        >>> own_key("site/gate/../door/2026-01-02/e1.jpg", "gate", "site")
        False
    """
    parts = key.split("/")
    head = [p for p in prefix.split("/") if p] + [device]
    return (len(parts) > len(head) and parts[:len(head)] == head
            and all(p not in ("", ".", "..") for p in parts) and key.isprintable())


def presign(rows: list[dict[str, Any]], s3: Any, bucket: str, prefix: str, expires_s: int = 3600) -> None:
    """Add ``snapshot_url`` (a presigned GET, ``expires_s`` long) to rows whose snapshot was uploaded. Only a key in
    the row's own board's folder gets one: the key is what the board sent, and a URL for another board's key would
    hand the operator that board's pictures on this board's word."""
    for r in rows:
        key = r.get("snapshot_key")
        if key and own_key(str(key), str(r.get("device")), prefix):
            r["snapshot_url"] = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                          ExpiresIn=expires_s)


def count_events(conn: Any, flt: EventFilter) -> int:
    where, args = flt.where()
    return int(conn.execute(f"SELECT COUNT(*) FROM events{where}", args).fetchone()[0])


def hub_dsn(hub: str) -> str:
    """``hub`` as a PostgreSQL DSN: given as one (``postgresql://...``), or the ``database.dsn`` of a hub YAML."""
    if re.match(r"^postgres(ql)?://", hub):
        return hub
    from edgekit.config.hub import load_hub_config

    return load_hub_config(hub).database.dsn


class FleetEvents:
    """The fleet's events in the hub's PostgreSQL, read the way the assistant reads a board's SQLite store
    (:class:`edgekit.events.EventReader`): the same filters as ``edgekit fleet events``, one connection."""

    def __init__(self, dsn: str, timeout_s: float = 5.0) -> None:
        self.conn = connect(dsn, timeout_s)

    @staticmethod
    def _filter(label: str | None, source: str | None, rule: str | None, since: TimeArg, until: TimeArg,
                device: str | None) -> EventFilter:
        return EventFilter(device=device, camera=source, label=label, rule=rule, since=timestamp(since),
                           until=timestamp(until))

    def query(self, label: str | None = None, source: str | None = None, rule: str | None = None,
              since: TimeArg = None, until: TimeArg = None, limit: int = 100, oldest_first: bool = False,
              device: str | None = None) -> list[Event]:
        """Matching events, newest first (or oldest first), at most ``limit``."""
        rows = _select(self.conn, _EVENT_COLUMNS, self._filter(label, source, rule, since, until, device), limit,
                       oldest_first)
        return [Event(id=r[0], device=r[1], source=r[2], rule=r[3], label=r[4], score=float(r[5]),
                      box=(float(r[6][0]), float(r[6][1]), float(r[6][2]), float(r[6][3])), track_id=r[7],
                      start_ts=float(r[8]), end_ts=None if r[9] is None else float(r[9]), snapshot=r[10],
                      extra=r[11] or {},
                      schema_version=int(r[12])) for r in rows]

    def count(self, label: str | None = None, source: str | None = None, rule: str | None = None,
              since: TimeArg = None, until: TimeArg = None, device: str | None = None) -> int:
        """How many events match."""
        return count_events(self.conn, self._filter(label, source, rule, since, until, device))

    def count_by(self, field: str, label: str | None = None, source: str | None = None, rule: str | None = None,
                 since: TimeArg = None, until: TimeArg = None, device: str | None = None) -> dict[str, int]:
        """Counts of matching events grouped by ``field`` (one of ``EVENT_FIELDS``), largest first."""
        if field not in EVENT_FIELDS:  # the only column names that reach the SQL text
            raise EdgekitError(f"cannot group events by {field!r}: choose one of {', '.join(EVENT_FIELDS)}")
        where, args = self._filter(label, source, rule, since, until, device).where()
        rows = self.conn.execute(f"SELECT {field}, COUNT(*) AS n FROM events{where} GROUP BY {field} "
                                 f"ORDER BY n DESC, {field}", args).fetchall()
        return {str(k): int(n) for k, n in rows}

    def close(self) -> None:
        self.conn.close()
