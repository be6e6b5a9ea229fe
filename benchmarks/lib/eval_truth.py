"""Expected answers computed from the event store, for evaluation questions that state what they mean.

A question of the blind set (``tests/assistant/eval/blind_questions.yaml``) carries a ``truth`` spec (filters, a
time interval in local time, an operation), never its answer. :func:`expected` reads the built store with plain
SQL (independent of the assistant's query code, so a bug there cannot make its own truth) and the stats file, and
returns the items a right answer must hold (``contains``) and must not (``absent``), plus the outcome.

``strict`` (added after the blind set's first run showed that the lenient check let through answers that dropped
a filter and hit the right number by chance, or listed events outside the window): an event answer must also
name every camera, label, rule and track the question filters on, and a list answer must state how many events
matched.

Added for the blind5 set (questions people ask once they trust the first ones): ``not_camera``/``not_label``/
``not_rule``/``not_track`` exclusion filters (one value or a list); ``compare`` (two sides ``a`` and ``b``, each
a spec merged over the shared filters, measured by ``measure``: both figures, and which side is ``larger``);
``share`` (the percentage of the matching events that also match ``part``), ``ratio`` (side ``a`` over side
``b``), ``average`` (events per ``day`` or ``hour`` over a window of whole periods), ``distinct`` (how many
different cameras, labels, rules or tracks), ``top`` (cameras ranked by a stats field, ``highest`` or
``lowest``, ``n`` of them); ``lang`` (the language the answer is expected in, passed through); and
conversations (:func:`expected_turns`), whose turns carry the filters and window of the turn before.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

_FILTERS = {"camera": "source", "label": "label", "rule": "rule", "track": "track_id"}
#: what a follow-up turn carries over from the turn before unless it sets or drops it
CARRIED = (*_FILTERS, *(f"not_{k}" for k in _FILTERS), "since", "until", "lang")
#: keys of a compare or ratio that belong to it, not to its sides (a side gets every other key: filters, window,
#: and what its measure needs: ``field``, ``part``, ``of``, ``per``)
_OWN_KEYS = ("op", "a", "b", "measure", "digits", "absent", "lang")
_PERIOD_S = {"day": 86400, "hour": 3600}
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
        if f"not_{key}" in spec:
            excluded = spec[f"not_{key}"]
            excluded = excluded if isinstance(excluded, list) else [excluded]
            where.append(f"{column} NOT IN ({', '.join('?' * len(excluded))})")
            args.extend(excluded)
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


def _exact(value: float, digits: int) -> str:
    """``value`` written with at most ``digits`` decimals; a figure that would need rounding has no one answer."""
    rounded = round(value, digits)
    if abs(rounded - value) > 1e-9:
        raise TruthError(f"{value} is not exact at {digits} decimals: choose a window or filter where it is")
    return _format_number(float(rounded))


def _stat(data: dict[str, Any], camera: str, field: str) -> float | int | str:
    cam = data["cameras"][camera]
    return cam["stage_ms"][field[:-3]] if field.endswith("_ms") else cam[field]


def _side(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """Side ``name`` of a compare or ratio: the shared filters with the side's own on top."""
    return {**{k: v for k, v in spec.items() if k not in _OWN_KEYS}, **spec[name]}


def _figure(spec: dict[str, Any], measure: str, db: Path, stats: Path, now: datetime) -> float:
    """The number ``measure`` (count, distinct, average, share, stat) gives for ``spec``."""
    zone = now.tzinfo
    assert zone is not None
    if measure == "stat":
        value = _stat(json.loads(stats.read_text()), spec["camera"], spec["field"])
        if isinstance(value, str):
            raise TruthError(f"{spec['field']} is not a figure")
        return float(value)
    rows = _rows(db, spec, zone)
    if measure == "count":
        return len(rows)
    if measure == "distinct":
        return len({r[{"camera": 1, "label": 2, "rule": 3, "track": 4}[spec["of"]]] for r in rows})
    if measure == "share":
        if not rows:
            raise TruthError(f"no events to take a share of for {spec}")
        return 100 * len(_rows(db, {**spec, **spec["part"]}, zone)) / len(rows)
    if measure == "average":
        if "since" not in spec:
            raise TruthError("an average needs a window with a start")
        end = _local(spec["until"], zone) if "until" in spec else now.timestamp()
        periods = (end - _local(spec["since"], zone)) / _PERIOD_S[spec["per"]]
        if periods <= 0 or periods != int(periods):
            raise TruthError(f"the window of {spec} is not a whole number of {spec['per']}s")
        return len(rows) / periods
    raise TruthError(f"unknown measure {measure!r}")


def _top(spec: dict[str, Any], stats: Path) -> list[str]:
    """The ``n`` cameras (less ``not_camera``) with the ``highest`` or ``lowest`` value of a stats field, each with
    its value."""
    data = json.loads(stats.read_text())
    excluded = spec.get("not_camera", [])
    excluded = excluded if isinstance(excluded, list) else [excluded]
    values = []
    for cam in data["cameras"]:
        if cam in excluded:
            continue
        try:
            values.append((float(_stat(data, cam, spec["field"])), cam))
        except KeyError:
            continue  # a camera that has no such figure (a down camera has no stage times) is not ranked
    values.sort(reverse=spec.get("order", "highest") == "highest")
    n = int(spec.get("n", 1))
    if len(values) < n or (len(values) > n and values[n - 1][0] == values[n][0]):
        raise TruthError(f"no single top {n} for {spec}")
    return [x for value, cam in values[:n] for x in (cam, _format_number(value))]


def _numeric(spec: dict[str, Any], op: str, db: Path, stats: Path, now: datetime) -> dict[str, Any]:
    """The items of a compare, ratio, share, average or distinct question (figures exact at ``digits``)."""
    digits = int(spec.get("digits", 2))
    if op in ("compare", "ratio"):
        measure = spec.get("measure", "count")
        a, b = (_figure(_side(spec, side), measure, db, stats, now) for side in ("a", "b"))
        if op == "ratio":
            if b == 0:
                raise TruthError(f"side b of {spec} is zero")
            return {"contains": [_exact(a / b, digits)]}
        names = [str(spec[s].get("name", s)) for s in ("a", "b")]
        larger = "equal" if a == b else names[0] if a > b else names[1]
        figures = [_exact(a, digits), _exact(b, digits)]
        return {"contains": list(dict.fromkeys(figures)), "figures": figures, "larger": larger}
    value = _figure(spec, op, db, stats, now)
    return {"contains": [_exact(value, digits)]}


def expected_turns(turns: list[dict[str, Any]], db: Path, stats: Path, now: datetime, *,
                   strict: bool = False) -> list[dict[str, Any]]:
    """The expected items of each turn of a conversation: a turn's ``truth`` is merged over what the turn before
    meant (its :data:`CARRIED` keys), less the keys it lists in ``drop``; ``new: true`` starts afresh."""
    out: list[dict[str, Any]] = []
    context: dict[str, Any] = {}
    for turn in turns:
        truth = dict(turn["truth"])
        drop = truth.pop("drop", [])
        base = {} if truth.pop("new", False) else {k: v for k, v in context.items() if k not in drop}
        spec = {**base, **truth}
        out.append(expected(spec, db, stats, now, strict=strict))
        context = {k: spec[k] for k in CARRIED if k in spec}
    return out


def expected_question(q: dict[str, Any], db: Path, stats: Path, now: datetime, *,
                      strict: bool = False) -> list[dict[str, Any]]:
    """The expected items of a question (one) or a conversation (one per turn)."""
    if "turns" in q:
        return expected_turns(q["turns"], db, stats, now, strict=strict)
    return [expected(q["truth"], db, stats, now, strict=strict)]


def expected(spec: dict[str, Any], db: Path, stats: Path, now: datetime, *, strict: bool = False) -> dict[str, Any]:
    """``{"outcome", "contains", "absent", "lang"}`` for one truth spec over the built store and stats file
    (a compare also gives its ``figures`` and which side is ``larger``)."""
    zone = now.tzinfo
    assert zone is not None
    op = spec["op"]
    absent = [str(a) for a in spec.get("absent", [])]
    lang = {"lang": str(spec["lang"])} if "lang" in spec else {}  # an answer in English states none
    if op == "unanswerable":
        return {"outcome": "unanswerable", "contains": [], "absent": absent, **lang}
    if op == "top":
        return {"outcome": "answered", "contains": _top(spec, stats), "absent": absent, **lang}
    if op in ("compare", "ratio", "share", "average", "distinct"):
        items = _numeric(spec, op, db, stats, now)
        if strict:  # the filters of the question and of each side it compares
            named = [str(s[k]) for s in (spec, spec.get("a", {}), spec.get("b", {})) for k in _FILTERS if k in s]
            items["contains"] += [x for x in dict.fromkeys(named) if x not in items["contains"]]
        return {"outcome": "answered", **items, "absent": absent, **lang}
    if op in ("stat", "device"):
        data = json.loads(stats.read_text())
        if op == "device":
            value = data["rss"] / 2**20 if spec["field"] == "daemon_rss_mb" else data[spec["field"]]
        else:
            value = _stat(data, spec["camera"], spec["field"])
        return {"outcome": "answered", "contains": [value if isinstance(value, str) else _format_number(value)],
                "absent": absent, **lang}
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
    return {"outcome": "answered", "contains": contains, "absent": absent, **lang}
