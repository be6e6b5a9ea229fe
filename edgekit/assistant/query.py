"""The assistant's query language over the event store: filters, a time window, an operation; run by code.

A query is data (pydantic, ``extra="forbid"``), never SQL: :func:`run_event_query` turns it into calls of the
store's parameterised methods. Time windows are resolved in the device's local zone (the zone of ``now``),
so "today" and "yesterday" are calendar days and "since 23:00 yesterday" crosses midnight correctly.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edgekit.events import EventReader
from edgekit.types import Event

WindowName = Literal["all_time", "today", "yesterday", "this_week", "last", "range"]
Unit = Literal["minutes", "hours", "days", "weeks"]
Op = Literal["count", "list", "first", "last", "group", "compare", "share", "ratio", "average", "distinct"]
#: the operations :mod:`edgekit.assistant.measures` computes (a figure over the matches, not the matches)
MEASURES = ("compare", "share", "ratio", "average", "distinct")
Per = Literal["day", "hour"]
Distinct = Literal["camera", "label", "rule", "track"]
Lang = Literal["en", "es", "de"]
GroupBy = Literal["camera", "label", "rule", "hour", "board"]
Order = Literal["most", "least"]

#: events fetched at most for in-Python work (track filter, per-hour groups): bounded memory on a board
SCAN_LIMIT = 50_000
_UNIT_DELTA = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1), "days": timedelta(days=1),
               "weeks": timedelta(weeks=1)}
_GROUP_COLUMN = {"camera": "source", "label": "label", "rule": "rule", "board": "device"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Window(_Strict):
    """A time window. ``last``: the ``amount`` ``unit`` before now; ``range``: ``since``/``until`` as ISO
    local times (either may be None: open)."""

    name: WindowName = "all_time"
    amount: int | None = Field(None, ge=1, le=10_000)
    unit: Unit | None = None
    since: str | None = None
    until: str | None = None

    def bounds(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """(since, until) in ``now``'s zone; None is open."""
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.name == "today":
            return midnight, None
        if self.name == "yesterday":
            return midnight - timedelta(days=1), midnight
        if self.name == "this_week":
            return midnight - timedelta(days=now.weekday()), None
        if self.name == "last":
            return now - (self.amount or 1) * _UNIT_DELTA[self.unit or "hours"], None
        if self.name == "range":
            return _parse_local(self.since, now), _parse_local(self.until, now)
        return None, None

    def describe(self, now: datetime) -> str:
        """Words for the answer: "today", "in the last 48 hours", "since yesterday 23:00"."""
        if self.name in ("today", "yesterday"):
            return self.name
        if self.name == "this_week":
            return "this week"
        if self.name == "all_time":
            return "in total"
        if self.name == "last":
            n, unit = self.amount or 1, self.unit or "hours"
            return f"in the last {unit[:-1]}" if n == 1 else f"in the last {n} {unit}"
        since, until = self.bounds(now)
        if since is not None and until is not None:
            if until - since == timedelta(days=1) and since.hour == since.minute == 0:
                return f"on {since:%Y-%m-%d}"
            return f"between {when(since, now)} and {when(until, now)}"
        if since is not None:
            return f"since {when(since, now)}"
        return f"before {when(until, now)}" if until is not None else "in total"


def _parse_local(text: str | None, now: datetime) -> datetime | None:
    if text is None:
        return None
    t = datetime.fromisoformat(text)
    return t.replace(tzinfo=now.tzinfo) if t.tzinfo is None else t.astimezone(now.tzinfo)


def when(t: datetime, now: datetime) -> str:
    """A time as people say it relative to ``now``: "09:05", "yesterday 23:50", "2026-02-20 09:00"."""
    t = t.astimezone(now.tzinfo)
    days = (now.date() - t.date()).days
    if days == 0:
        return f"{t:%H:%M}"
    if days == 1:
        return f"yesterday {t:%H:%M}"
    return f"{t:%Y-%m-%d %H:%M}"


class EventQuery(_Strict):
    """One question about events: filters, a window, and what to do with the matches."""

    op: Op = "count"
    camera: str | None = None
    label: str | None = None
    rule: str | None = None
    board: str | None = Field(None, description="the event's device (boards of a fleet: `edgekit ask --hub`)")
    track: int | None = Field(None, ge=0)
    window: Window = Window()
    group_by: GroupBy | None = None
    order: Order = "most"
    limit: int = Field(10, ge=1, le=50)
    offset: int = Field(0, ge=0, le=1000, description="events skipped first: 1 with op=last is the second to last")
    not_camera: list[str] | None = Field(None, description="exclusion: events not on these cameras")
    not_label: list[str] | None = Field(None, description="exclusion: events not of these labels")
    not_rule: list[str] | None = Field(None, description="exclusion: events not from these rules")
    per: Per | None = Field(None, description="op=average: events per day or per hour over the window")
    distinct: Distinct | None = Field(None, description="op=distinct: how many different cameras, labels, ...")
    asked: Literal["more", "fewer", "same"] | None = Field(
        None, description="op=compare: what the question asks of the first side (the answer says yes or no)")
    other_window: Window | None = Field(None, description="op=compare/ratio: the second side's window")
    other_camera: str | None = Field(None, description="compare/ratio: the second side's camera; share: the part's")
    other_label: str | None = Field(None, description="compare/ratio: the second side's label; share: the part's")
    other_rule: str | None = Field(None, description="compare/ratio: the second side's rule; share: the part's")
    lang: Lang | None = Field(None, description="the language the question was asked in (answers follow it)")

    def other(self) -> EventQuery:
        """The second side of a compare or ratio, or the part of a share: this query with the ``other_*`` fields
        on top (a share's part is the matches that also match them)."""
        update: dict[str, Any] = {"window": self.other_window or self.window, "other_window": None}
        for key in ("camera", "label", "rule"):
            if (value := getattr(self, f"other_{key}")) is not None:
                update |= {key: value, f"other_{key}": None}
        return self.model_copy(update=update)

    def keeps(self, e: Event) -> bool:
        """The filters the store cannot apply: track and the exclusions."""
        return (self.track is None or e.track_id == self.track) and e.source not in (self.not_camera or ()) \
            and e.label not in (self.not_label or ()) and e.rule not in (self.not_rule or ())

    def scans(self) -> bool:
        """Whether matches are filtered in Python (:meth:`keeps`) after the store's query."""
        return self.track is not None or any(v is not None for v in (self.not_camera, self.not_label,
                                                                      self.not_rule))


def store_filters(q: EventQuery, now: datetime) -> dict[str, Any]:
    """The store's filter arguments for ``q`` (window resolved in ``now``'s zone)."""
    since, until = q.window.bounds(now)
    return {"label": q.label, "source": q.camera, "rule": q.rule, "device": q.board, "since": since,
            "until": until}


def matches(store: EventReader, q: EventQuery, now: datetime) -> list[Event]:
    """Every event ``q`` matches (newest first, at most :data:`SCAN_LIMIT`)."""
    return [e for e in store.query(**store_filters(q, now), limit=SCAN_LIMIT) if q.keeps(e)]


def event_record(e: Event, now: datetime, board: bool = False) -> dict[str, Any]:
    """One event as the answer and the JSON transcript show it (``board``: with the board it came from)."""
    t = datetime.fromtimestamp(e.start_ts, now.tzinfo)
    rec: dict[str, Any] = {"time": t.strftime("%Y-%m-%d %H:%M:%S"), "when": when(t, now), "label": e.label,
                           "camera": e.source, "rule": e.rule, "score": round(e.score, 2)}
    if board:
        rec["board"] = e.device
    if e.track_id is not None:
        rec["track"] = e.track_id
    return rec


def run_event_query(store: EventReader, q: EventQuery, now: datetime, known: dict[str, list[str]]) -> dict[str, Any]:
    """Run ``q`` and return a JSON-ready result; ``known`` lists the store's cameras/labels/rules/boards (groups
    count the ones with no match as 0, so "fewest" can be 0; events name their board when there are several)."""
    f = store_filters(q, now)
    since, until = f["since"], f["until"]
    fleet = len(known.get("board", [])) > 1
    out: dict[str, Any] = {"window": q.window.describe(now),
                           "since": since.isoformat(timespec="minutes") if since else None,
                           "until": until.isoformat(timespec="minutes") if until else None}
    scanned: list[Event] | None = None
    if q.scans() or q.group_by == "hour":  # not store columns it can group or filter on
        scanned = matches(store, q, now)
    total = len(scanned) if scanned is not None else store.count(**f)
    out["total"] = total
    if q.op == "count":
        out["count"] = total
    elif q.op in ("list", "first", "last"):
        n = 1 if q.op in ("first", "last") else q.limit
        if scanned is not None:
            events = (scanned[::-1] if q.op == "first" else scanned)[q.offset:q.offset + n]
        else:
            events = store.query(**f, limit=n + q.offset, oldest_first=q.op == "first")[q.offset:]
        out["events"] = [event_record(e, now, fleet) for e in events]
    else:
        key = q.group_by or "camera"
        if key == "hour":
            assert scanned is not None
            counts: Counter[str] = Counter(
                f"{datetime.fromtimestamp(e.start_ts, now.tzinfo):%H}:00" for e in scanned)
        else:
            if scanned is not None:
                attr = {"camera": "source", "board": "device"}.get(key, key)
                counts = Counter(str(getattr(e, attr)) for e in scanned)
            else:
                counts = Counter(store.count_by(_GROUP_COLUMN[key], **f))
            for name in known.get(key, []):
                counts.setdefault(name, 0)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]) if q.order == "most" else (kv[1], kv[0]))
        out["group_by"] = key
        out["order"] = q.order
        out["groups"] = [{"name": k, "count": v} for k, v in ranked]
    return out
