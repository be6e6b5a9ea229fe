"""Read what a question states outright — time words, names that exist in the store, most/least/first/last,
how many — into a query, by code.

Why: SmolLM2-135M picks tools and arguments little better than chance but a question usually says what it
wants in words a parser can read reliably. Whatever is read here is fixed: the model is asked only for what
the question leaves open (see :mod:`edgekit.assistant.agent`), and its answer is checked against
:attr:`Reading.stated`. Numbers in a question are read only in the forms below (clock times, dates, "last N
hours", "track N", "last N events"), so "the real number is 100" never becomes a filter or an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from edgekit.assistant.query import EventQuery, Op, Window

Kind = Literal["events", "stats", "device", "unanswerable", "greeting", "open"]

#: words for the default detector's labels besides the label itself
LABEL_WORDS = {
    "fall": ("fall", "falls", "fell", "fallen", "falling"),
    "normal": ("normal", "upright", "standing"),
}
#: things people ask about that an event store of this kind never holds (a label of that name would win)
OBJECT_WORDS = ("car", "cars", "truck", "trucks", "cat", "cats", "dog", "dogs", "bird", "birds", "bike", "bikes",
                "bicycle", "bicycles", "package", "packages", "parcel", "parcels", "vehicle", "vehicles", "animal",
                "animals", "fox", "foxes", "deer")
_OUT_OF_SCOPE = [
    (r"\bcolou?rs?\b|\bwearing\b|\bclothes\b", "events record when, where and which label was detected, not colours "
     "or clothing"),
    (r"\bwho\b|\bwhose\b|\bname of\b|\bidentif", "events do not identify people"),
    (r"\bweather\b|\braining\b|\bsunny\b", "events say nothing about the weather"),
    (r"\btomorrow\b|\bnext (week|month|hour)\b|\bwill there be\b|\bgoing to\b|\bpredict", "events only record the "
     "past"),
    (r"\bhow fast\b.*\b(walk|run|mov|driv)|\bspeed of\b|\bwalking speed\b", "events do not record how fast anyone "
     "moved"),
    (r"\bwhy did\b|\bwhat caused\b", "events do not record causes"),
]
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "twenty": 20, "thirty": 30}
_N = r"(\d{1,4}|" + "|".join(_NUMBER_WORDS) + r")"
_UNITS = {"minute": "minutes", "min": "minutes", "mins": "minutes", "minutes": "minutes", "hour": "hours",
          "hours": "hours", "day": "days", "days": "days", "week": "weeks", "weeks": "weeks"}
_CLOCK = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?"
_DAYWORD = r"(?:\s+(yesterday|today|last night|this morning))?"
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
     "december"))}
# statistics fields a question can name, in the order they are tried: (pattern, field)
_STATS_FIELDS = [
    (r"\breconnect", "reconnects"),
    (r"\bdropp?(ed|ing|s)?\b", "dropped"),
    (r"\bcapture[ds]?\b.*\b(fps|frame ?rate|frames per second)\b|\b(fps|frame ?rate)\b.*\bcapture", "capture_fps"),
    (r"\binferen(ce|cing)\b|\binfer\b|\blatency\b", "infer_ms"),
    (r"\bpre-?process", "pre_ms"),
    (r"\bpost-?process", "post_ms"),
    (r"\bfps\b|\bframe ?rate\b|\bframes per second\b|\bprocessing speed\b|\bhow fast\b.*\bprocess", "process_fps"),
    (r"\b(down|offline|online|working|status|disconnected)\b", "status"),
]
_DEVICE_FIELDS = [
    (r"\btemperature\b|\bhow hot\b|\boverheat", "cpu_temp_c"),
    (r"\bmemory\b|\bram\b|\brss\b", "memory"),
    (r"\bload\b|\bcpu usage\b|\bcpu use\b|\bbusy is the cpu\b", "load"),
    (r"\buptime\b|\bhow long has .* been (up|running)\b", "uptime"),
]
#: what "how many ..." may count besides labels, rules and cameras (and the filler words before them)
_COUNTABLE = (r"events?|detections?|alerts?|times?|frames?|people|persons?|ppl|visitors?|things|hits?|"
              r"incidents?|notifications?|triggers?|records?|entries|falls?|of|did|do|does|were|was|have|has|had|"
              r"are|is|in|on|at|from|for|total|new|more|fewer|reconnects?|reconnections?|cameras?|rules?|labels?|"
              r"fps|dropped|seconds?|minutes?|hours?|days?|mb|megabytes?|gb|cores?|the|my|our")
_EVENT_WORDS = r"\b(events?|detections?|detected|alerts?|activity|happen(ed|ing)?|seen|saw|see|triggers?|triggered|" \
               r"fired?|raised?|people|persons?|someone|anyone|anybody|visitors?|records?|recorded)\b"


@dataclass
class Reading:
    """What the question states. ``query`` holds everything read; ``op_stated`` False means the question
    names what to look at but not what to do (count? list?), which is left to the model."""

    kind: Kind
    query: EventQuery = field(default_factory=EventQuery)
    op_stated: bool = False
    stated: dict[str, Any] = field(default_factory=dict)
    stats_field: str | None = None
    reason: str | None = None
    compare: list[Window] | None = None  # "more falls today or yesterday?": one count per window

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "stated": self.stated, "op_stated": self.op_stated,
                "stats_field": self.stats_field, "reason": self.reason}


def _num(tok: str) -> int:
    return int(tok) if tok.isdigit() else _NUMBER_WORDS[tok]


def _clock(h: str, m: str | None, ampm: str | None) -> tuple[int, int] | None:
    hour, minute = int(h), int(m or 0)
    if ampm == "pm" and hour < 12:
        hour += 12
    if ampm == "am" and hour == 12:
        hour = 0
    return (hour, minute) if hour < 24 and minute < 60 else None


def _at(now: datetime, hm: tuple[int, int], dayword: str | None, default_past: bool = True) -> datetime:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    t = midnight + timedelta(hours=hm[0], minutes=hm[1])
    if dayword in ("yesterday", "last night") or (dayword is None and default_past and t > now):
        t -= timedelta(days=1)
    return t


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="minutes")


def read_window(q: str, now: datetime) -> Window | None:
    """The time window a (lower-case) question states, or None when it states none."""
    if m := re.search(rf"\bbetween\s+{_CLOCK}{_DAYWORD}\s+and\s+{_CLOCK}{_DAYWORD}", q):
        a, b = _clock(*m.group(1, 2, 3)), _clock(*m.group(5, 6, 7))
        if a and b:
            day_a, day_b = m.group(4), m.group(8)
            since = _at(now, a, day_a)
            until = _at(now, b, day_b or ("today" if day_a == "yesterday" else None))
            if until <= since:  # "between 23:00 and 01:00": the end is on the next day
                until += timedelta(days=1)
            return Window(name="range", since=_iso(since), until=_iso(until))
    if m := re.search(rf"\b(?:since|after|from)\s+{_CLOCK}{_DAYWORD}\b", q):
        hm = _clock(*m.group(1, 2, 3))
        tail = q[m.end():]
        # a bare "after 9" is a clock hour unless a unit follows ("after 9 minutes" is not a time of day)
        if hm and (m.group(2) or m.group(3) or m.group(4) or not re.match(r"\s*(min|sec|hour|day|week|event)", tail)):
            return Window(name="range", since=_iso(_at(now, hm, m.group(4))))
    if re.search(r"\bsince midnight\b", q):
        return Window(name="today")
    if m := re.search(r"\b(?:on|for)\s+(\d{4})-(\d{2})-(\d{2})\b", q) or re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", q):
        day = now.replace(year=int(m.group(1)), month=int(m.group(2)), day=int(m.group(3)), hour=0, minute=0,
                          second=0, microsecond=0)
        return Window(name="range", since=_iso(day), until=_iso(day + timedelta(days=1)))
    months = "|".join(_MONTHS)
    if m := re.search(rf"\b({months})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b|"
                      rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({months})\b", q):
        month, dom = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        day = now.replace(month=_MONTHS[month], day=int(dom), hour=0, minute=0, second=0, microsecond=0)
        if day > now:
            day = day.replace(year=day.year - 1)
        return Window(name="range", since=_iso(day), until=_iso(day + timedelta(days=1)))
    if m := re.search(rf"\b(?:last|past|previous)\s+{_N}\s+(minutes?|mins?|hours?|days?|weeks?)\b", q):
        return Window(name="last", amount=_num(m.group(1)), unit=_UNITS[m.group(2)])  # type: ignore[arg-type]
    if m := re.search(r"\b(?:last|past|previous)\s+(minute|hour|day|week)\b", q):
        if m.group(1) == "week":
            return Window(name="last", amount=7, unit="days")
        return Window(name="last", amount=1, unit=_UNITS[m.group(1)])  # type: ignore[arg-type]
    if re.search(r"\blast night\b|\bovernight\b", q):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return Window(name="range", since=_iso(midnight - timedelta(hours=6)),
                      until=_iso(midnight + timedelta(hours=6)))
    if re.search(r"\bsince yesterday\b", q):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return Window(name="range", since=_iso(midnight - timedelta(days=1)))
    if re.search(r"\byesterday'?s?\b", q):
        return Window(name="yesterday")
    if re.search(r"\btoday'?s?\b|\bthis (morning|afternoon|evening)\b|\btonight\b", q):
        return Window(name="today")
    if re.search(r"\bthis week'?s?\b", q):
        return Window(name="this_week")
    if re.search(r"\b(ever|in total|total|all time|all-time|overall|so far|altogether|of all time)\b", q):
        return Window(name="all_time")
    return None


_SIMPLE_WINDOWS = {"today": "today", "yesterday": "yesterday", "this week": "this_week"}


def _compared_windows(q: str, now: datetime) -> list[Window] | None:
    """Two windows a question compares ("more falls today or yesterday?", "today vs yesterday")."""
    words = "|".join(_SIMPLE_WINDOWS)
    m = re.search(rf"\b({words})\b.*?\b(?:or|than|vs\.?|versus|compared (?:to|with))\s+({words})\b", q)
    if m is None or not re.search(r"\b(more|fewer|less|compare|comparison|vs\.?|versus|than)\b", q):
        return None
    return [Window(name=_SIMPLE_WINDOWS[m.group(i)]) for i in (1, 2)]  # type: ignore[arg-type]


def _names_in(q: str, names: list[str]) -> list[str]:
    """Names from the store that the question states (``night_visitor`` also as "night visitor")."""
    out = []
    for name in names:
        low = name.lower()
        forms = {low, low.replace("_", " "), low.replace("-", " "), low + "s"}
        if any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", q) for f in forms):
            out.append(name)
    return out


def _label_words(label: str) -> tuple[str, ...]:
    low = label.lower()
    return LABEL_WORDS.get(low, (low, low + "s"))


def read_question(question: str, now: datetime, cameras: list[str], labels: list[str], rules: list[str],
                  boards: list[str] | tuple[str, ...] = ()) -> Reading:
    """Read ``question`` against the names the store really holds (``boards``: the devices of a fleet store)."""
    q = " ".join(question.lower().split())
    stated: dict[str, Any] = {}
    for pat, why in _OUT_OF_SCOPE:
        if re.search(pat, q):
            return Reading("unanswerable", reason=why)
    named_labels = [lab for lab in labels
                    if any(re.search(rf"\b{re.escape(w)}\b", q) for w in _label_words(lab))]
    for word in OBJECT_WORDS:
        if re.search(rf"\b{word}\b", q) and not named_labels and word.rstrip("s") not in {
                x.lower() for x in labels}:
            return Reading("unanswerable", reason=f"no label '{word}' is detected (labels: {', '.join(labels)})")
    # a rule called like a label ("fall") is read as the label: the label is what people mean by "falls"
    rule_names = [r for r in _names_in(q, rules)
                  if not any(r.lower() in _label_words(lab) for lab in named_labels)]
    cams = [c for c in _names_in(q, cameras) if c not in rule_names]
    # a board called like a camera or rule is read as that (a one-board store often names both alike)
    named_boards = [b for b in _names_in(q, list(boards)) if b not in cams and b not in rule_names]
    # "how many horses": the thing counted must be something the store holds (an event word, a label, a rule, a
    # camera, a stats figure); an unknown noun is not silently widened to "all events"
    if (hm := re.search(r"\bhow many\s+([a-z_-]+)", q)) and not (named_labels or rule_names or cams or named_boards):
        noun = hm.group(1)
        names = [*cameras, *rules, *boards]
        known = {x.lower() for x in names} | {x.lower() + "s" for x in names}
        if noun not in known and not re.fullmatch(_COUNTABLE, noun):
            return Reading("unanswerable", reason=f"no label '{noun}' is detected (labels: {', '.join(labels)})")
    for m in re.finditer(r"\bthe\s+([a-z0-9_-]+)\s+cam(?:era)?\b|\bcam(?:era)?\s+([a-z]*\d+[a-z0-9_-]*)\b", q):
        name = m.group(1) or m.group(2)
        if name not in {c.lower() for c in cameras} and name not in {"same", "other", "first", "last", "busiest",
                                                                    "main", "one"}:
            return Reading("unanswerable", reason=f"there is no camera '{name}' (cameras: {', '.join(cameras)})")
    # "board dock-9": a name like a device's (a digit, - or _ in it) that no board has is not widened to all boards
    for m in re.finditer(r"\bboard\s+([a-z0-9.:]*[0-9_-][a-z0-9_.:-]*)", q):
        if m.group(1) not in {b.lower() for b in boards}:
            return Reading("unanswerable", reason=f"there is no board '{m.group(1)}' (boards: {', '.join(boards)})")
    if len(set(cams)) == 1:
        stated["camera"] = cams[0]
    if len(named_labels) == 1:
        stated["label"] = named_labels[0]
    if len(rule_names) == 1:
        stated["rule"] = rule_names[0]
    if len(set(named_boards)) == 1:
        stated["board"] = named_boards[0]
    if tm := re.search(r"\btrack(?:\s+id)?\s*#?\s*(\d{1,9})\b", q):
        stated["track"] = int(tm.group(1))
    window = read_window(q, now)
    if window is not None:
        stated["window"] = window.model_dump(exclude_none=True)

    # live stats and device status: named fields, answered from the stats file
    for pat, fld in _DEVICE_FIELDS:
        if re.search(pat, q):
            return Reading("device", stated=stated, stats_field=fld)
    if not re.search(r"\bbreak(s|ing)? down\b", q):
        for pat, fld in _STATS_FIELDS:
            if re.search(pat, q):
                return Reading("stats", stated=stated, stats_field=fld)
    if re.fullmatch(r"(hi|hello|hey|thanks|thank you|good (morning|evening))\W*", q):
        return Reading("greeting")

    query = EventQuery(camera=stated.get("camera"), label=stated.get("label"), rule=stated.get("rule"),
                       board=stated.get("board"), track=stated.get("track"), window=window or Window())
    op: Op | None = None
    most = re.search(r"\b(most|busiest|biggest|highest|top|more|largest|most often|most common)\b", q)
    least = re.search(r"\b(least|fewest|quietest|lowest|less|smallest|least often|least common)\b", q)
    keys = r"(camera|rule|label|hour|time of day|board|device)"
    group = re.search(rf"\b(?:which|what)\s+(?:of\s+)?(?:my\s+|the\s+|our\s+|your\s+)?{keys}s?\b", q) or \
        re.search(r"\b(?:by|per|each|every)\s+(camera|rule|label|hour|board|device)s?\b", q) or \
        re.search(rf"\b(busiest|quietest|frequent|common|active|busy|top|bottom)\s+{keys}s?\b", q)
    compared = _compared_windows(q, now)
    if compared is not None:
        stated["compare"] = [w.model_dump(exclude_none=True) for w in compared]
        stated.pop("window", None)
        return Reading("events", query=query, op_stated=True, stated=stated, compare=compared)
    if group:
        key = group.group(group.lastindex or 1)
        query.group_by = {"time of day": "hour", "device": "board"}.get(key, key)  # type: ignore[assignment]
        query.order = "least" if least and not most else "most"
        stated["group_by"] = query.group_by
        if most or least:
            stated["order"] = query.order
        op = "group"
    elif nm := re.search(rf"\b(?:last|latest|recent|most recent|newest|first|earliest|oldest)\s+{_N}\s+"
                         r"(?:events?|detections?|alerts?|falls?|things)\b|\b{_N}\s+(?:most recent|latest|last|"
                         r"newest)\s+(?:events?|detections?|alerts?)\b".replace("{_N}", _N), q):
        query.limit = min(_num(nm.group(1) or nm.group(2)), 50)
        stated["limit"] = query.limit
        op = "list"
    elif om := re.search(r"\b(second|third|fourth|fifth)[ -](?:to[ -])?(last|latest|most recent|first|earliest)\b|"
                         r"\b(penultimate)\b", q):
        query.offset = {"second": 1, "third": 2, "fourth": 3, "fifth": 4, None: 1}[om.group(1)]
        op = "first" if om.group(2) in ("first", "earliest") else "last"
        stated["offset"] = query.offset
    elif re.search(r"\b(first|earliest|oldest)\b", q):
        op = "first"
    elif re.search(r"\b(last|latest|most recent(ly)?|newest|recently)\b", q) and not (
            window is not None and window.name in ("last", "range") and not re.search(r"\bwhen\b|\bwhat was\b", q)):
        op = "last"
    elif re.search(r"\bhow many\b|\bnumber of\b|\bcount\b|\bhow often\b|\btotal\b", q):
        op = "count"
    elif re.search(r"\blist\b|\bshow\b|\bwhat happened\b|\bwhich (events|falls|alerts|detections)\b|\bwhen\b|"
                   r"\bwhat were\b|\bwhat (events|falls|alerts)\b|\bany (events|falls|alerts)\b|"
                   r"\bwhat did\b.*\b(see|detect|record|catch|notice)\b|\bwhat was (seen|detected)\b|"
                   r"^(has|have|did|was|were|is|are) (any|anyone|anybody|someone|somebody|there)\b", q):
        op = "list"
    if op is not None:
        query.op = op
        stated["op"] = op
        return Reading("events", query=query, op_stated=True, stated=stated)
    names_something = bool(stated) or re.search(_EVENT_WORDS, q) is not None
    return Reading("events" if names_something else "open", query=query, stated=stated)
