"""Expected answers computed from the event store, for evaluation questions that state what they mean.

A question of the blind set (``tests/assistant/eval/blind_questions.yaml``) carries a ``truth`` spec (filters, a
time interval in local time, an operation), never its answer. :func:`expected` reads the built store with plain
SQL (independent of the assistant's query code, so a bug there cannot make its own truth) and the stats file, and
returns the items a right answer must hold (``contains``) and must not (``absent``), plus the outcome.

``strict`` (added after the blind set's first run showed that the lenient check let through answers that dropped
a filter and hit the right number by chance, or listed events outside the window): an event answer must also
name every camera, label, rule and track the question filters on, and a list answer must state how many events
matched.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

_FILTERS = {"camera": "source", "label": "label", "rule": "rule", "track": "track_id"}
#: a list answer is checked item by item up to this many events (answers show the newest ten)
MAX_LISTED = 10


class TruthError(ValueError):
    """The spec does not single out one answer (a tie for "most", a list too long to check): fix the question."""


def _local(text: str, zone: tzinfo) -> float:
    t = datetime.fromisoformat(text)
    return (t.replace(tzinfo=zone) if t.tzinfo is None else t).timestamp()


def _rows(db: Path, spec: dict[str, Any], zone: tzinfo) -> list[tuple[float, str, str, str, int | None]]:
    """(start_ts, camera, label, rule, track) of the matching events, oldest first."""
    where, args = [], []
    for key, column in _FILTERS.items():
        if key in spec:
            where.append(f"{column} = ?")
            args.append(spec[key])
    if "since" in spec:
        where.append("start_ts >= ?")
        args.append(_local(spec["since"], zone))
    if "until" in spec:
        where.append("start_ts < ?")
        args.append(_local(spec["until"], zone))
    sql = "SELECT start_ts, source, label, rule, track_id FROM events"
    sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY start_ts"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in con.execute(sql, args)]  # type: ignore[misc]
    finally:
        con.close()


def _all_values(db: Path, column: str) -> list[str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM events")]
    finally:
        con.close()


def _hhmm(ts: float, zone: tzinfo) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%H:%M")


def _groups(db: Path, rows: list[tuple[float, str, str, str, int | None]], by: str,
            zone: tzinfo) -> Counter[str]:
    if by == "hour":
        return Counter(f"{datetime.fromtimestamp(r[0], zone):%H}:00" for r in rows)
    idx = {"camera": 1, "label": 2, "rule": 3}[by]
    counts = Counter(str(r[idx]) for r in rows)
    for name in _all_values(db, {"camera": "source", "label": "label", "rule": "rule"}[by]):
        counts.setdefault(name, 0)  # a camera with no match is a real "fewest"
    return counts


def _format_number(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def expected(spec: dict[str, Any], db: Path, stats: Path, now: datetime, *, strict: bool = False) -> dict[str, Any]:
    """``{"outcome", "contains", "absent"}`` for one truth spec over the built store and stats file."""
    zone = now.tzinfo
    assert zone is not None
    op = spec["op"]
    absent = [str(a) for a in spec.get("absent", [])]
    if op == "unanswerable":
        return {"outcome": "unanswerable", "contains": [], "absent": absent}
    if op in ("stat", "device"):
        data = json.loads(stats.read_text())
        if op == "device":
            value = data["rss"] / 2**20 if spec["field"] == "daemon_rss_mb" else data[spec["field"]]
        else:
            cam = data["cameras"][spec["camera"]]
            fld = spec["field"]
            value = cam["stage_ms"][fld[:-3]] if fld.endswith("_ms") else cam[fld]
        return {"outcome": "answered", "contains": [value if isinstance(value, str) else _format_number(value)],
                "absent": absent}
    rows = _rows(db, spec, zone)
    if op == "count":
        contains = [str(len(rows))]
    elif op in ("first", "last"):
        ordered = rows if op == "first" else rows[::-1]
        offset = int(spec.get("offset", 0))
        if len(ordered) <= offset:
            raise TruthError(f"no event for {spec}")
        e = ordered[offset]
        contains = [_hhmm(e[0], zone)] + ([] if "camera" in spec else [e[1]])
    elif op == "list":
        if not rows or len(rows) > MAX_LISTED:
            raise TruthError(f"{len(rows)} events for {spec}: a list question needs 1 to {MAX_LISTED}")
        contains = [_hhmm(r[0], zone) for r in rows]
    elif op in ("most", "least", "breakdown"):
        counts = _groups(db, rows, spec["by"], zone)
        if op == "breakdown":
            contains = [x for name, n in sorted(counts.items()) for x in (name, str(n))]
        else:
            best = (max if op == "most" else min)(counts.values())
            top = [k for k, v in counts.items() if v == best]
            if len(top) != 1:
                raise TruthError(f"tie {top} at {best} for {spec}")
            contains = [top[0]]
    else:
        raise TruthError(f"unknown op {op!r}")
    if strict:
        contains += [str(spec[k]) for k in _FILTERS if k in spec and str(spec[k]) not in contains]
        if op == "list":
            contains.append(str(len(rows)))
    return {"outcome": "answered", "contains": contains, "absent": absent}
