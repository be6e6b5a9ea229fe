"""Figures over the matching events, computed by code: compare two sides, a share, a ratio, an average per day or
hour, a count of distinct cameras/labels/rules/tracks.

Each figure is exact or says how it was rounded (``rounded``: True with ``digits`` decimals), so an answer never
shows 33.33 as if it were exact. The sides of a compare or ratio and the part of a share are
:meth:`~edgekit.assistant.query.EventQuery.other`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from edgekit.assistant.query import EventQuery, matches
from edgekit.events import EventReader

#: decimals a figure is given with
DIGITS = 2
_PERIOD = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
_ATTR = {"camera": "source", "label": "label", "rule": "rule", "track": "track_id"}


def figure(value: float, digits: int = DIGITS) -> dict[str, Any]:
    """``{"value", "rounded", "digits"}``: ``value`` at ``digits`` decimals, and whether that changed it."""
    shown = round(value, digits)
    out: dict[str, Any] = {"value": int(shown) if float(shown).is_integer() else shown,
                           "rounded": abs(shown - value) > 1e-9}
    if out["rounded"]:
        out["digits"] = digits
    return out


def _side(store: EventReader, q: EventQuery, now: datetime) -> dict[str, Any]:
    """One side of a compare or ratio: its count, and its average or distinct count when ``q`` asks for one."""
    side = {"count": len(matches(store, q, now)), "window": q.window.describe(now),
            "filters": {k: getattr(q, k) for k in ("camera", "label", "rule") if getattr(q, k) is not None}}
    if q.per is not None:
        side["average"] = _average(store, q, now)
    elif q.distinct is not None:
        side["distinct"] = _distinct(store, q, now)
    return side


def _value(side: dict[str, Any]) -> float:
    """What a compare compares: the average, the distinct count or the count."""
    if "average" in side:
        return float(side["average"].get("average", {}).get("value", 0))
    return float(side["distinct"]["distinct"] if "distinct" in side else side["count"])


def _compare(store: EventReader, q: EventQuery, now: datetime) -> dict[str, Any]:
    a, b = _side(store, q, now), _side(store, q.other(), now)
    va, vb = _value(a), _value(b)
    return {"sides": [a, b], "larger": "equal" if va == vb else "a" if va > vb else "b"}


def _ratio(store: EventReader, q: EventQuery, now: datetime) -> dict[str, Any]:
    a, b = _side(store, q, now), _side(store, q.other(), now)
    out: dict[str, Any] = {"sides": [a, b]}
    if b["count"]:
        out["ratio"] = figure(a["count"] / b["count"])
    return out


def _share(store: EventReader, q: EventQuery, now: datetime) -> dict[str, Any]:
    total = len(matches(store, q, now))
    part = len(matches(store, q.other(), now))
    out: dict[str, Any] = {"total": total, "part": part, "window": q.window.describe(now)}
    if q.other_window is not None:  # the part is a time within the window ("yesterday's falls before noon")
        out["part_window"] = q.other().window.describe(now)
    if total:
        out["percent"] = figure(100 * part / total)
    return out


def _average(store: EventReader, q: EventQuery, now: datetime) -> dict[str, Any]:
    """Events per day or hour over the window (from its start to its end, or to now when it is open)."""
    since, until = q.window.bounds(now)
    per = q.per or "day"
    out: dict[str, Any] = {"per": per, "window": q.window.describe(now), "total": len(matches(store, q, now))}
    if since is None:
        out["reason"] = "an average needs a window with a start (\"over the last 3 days\")"
        return out
    periods = ((until or now) - since) / _PERIOD[per]
    out["periods"] = figure(periods)
    if periods > 0:
        out["average"] = figure(out["total"] / periods)
    return out


def _distinct(store: EventReader, q: EventQuery, now: datetime) -> dict[str, Any]:
    of = q.distinct or "camera"
    names = sorted({str(v) for e in matches(store, q, now) if (v := getattr(e, _ATTR[of])) is not None})
    return {"of": of, "distinct": len(names), "names": names, "window": q.window.describe(now)}


_RUN = {"compare": _compare, "ratio": _ratio, "share": _share, "average": _average, "distinct": _distinct}


def run_measure(store: EventReader, q: EventQuery, now: datetime) -> dict[str, Any]:
    """The figure ``q.op`` names over ``q``'s matches, JSON-ready."""
    return {"op": q.op, **_RUN[q.op](store, q, now)}
