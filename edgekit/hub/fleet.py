"""Read side of the central store: each board's state (``edgekit fleet status``) and event queries
(``edgekit fleet events``). Parameterised SQL only; filters are the ones the assistant's event query has
(camera, label, rule, track, time window) plus the board."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from edgekit.errors import EdgekitError, MissingDependencyError


def connect(dsn: str, timeout_s: float = 5.0) -> Any:
    """A psycopg connection; a refused or wrong DSN is one clear ``EdgekitError``."""
    try:
        import psycopg
    except ImportError as e:
        raise MissingDependencyError("psycopg", "pip install 'edgekit[hub]'") from e
    try:
        return psycopg.connect(dsn, connect_timeout=max(1, round(timeout_s)), autocommit=True)
    except psycopg.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EdgekitError(f"cannot reach the hub database: {first}") from None


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


def query_events(conn: Any, flt: EventFilter, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first, at most ``limit``."""
    where, args = flt.where()
    rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM events{where} ORDER BY start_ts DESC LIMIT %s",
                        [*args, limit]).fetchall()
    return [dict(zip(_COLUMNS, r, strict=True)) for r in rows]


def presign(rows: list[dict[str, Any]], s3: Any, bucket: str, expires_s: int = 3600) -> None:
    """Add ``snapshot_url`` (a presigned GET, ``expires_s`` long) to rows whose snapshot was uploaded."""
    for r in rows:
        if r.get("snapshot_key"):
            r["snapshot_url"] = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                                                "Key": r["snapshot_key"]},
                                                          ExpiresIn=expires_s)


def count_events(conn: Any, flt: EventFilter) -> int:
    where, args = flt.where()
    return int(conn.execute(f"SELECT COUNT(*) FROM events{where}", args).fetchone()[0])
