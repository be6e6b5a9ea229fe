"""Read the time window a question states ("before 8 this morning", "since Friday", "in June", "last 24h") into a
:class:`~edgekit.assistant.query.Window`, in the device's local time.

Why by code: the window is what a small model gets wrong most often, and the words people use for it are few.
Conventions, stated once: a clock time later than now is yesterday's unless a day is named; a weekday or month is
the most recent one (today's weekday is today, "last Friday" and "since Friday" the one before today); "last week"
and "last month" are the calendar ones, "the past week"/"the last 7 days" count back from now; "this morning" is
before noon, "this afternoon" noon to 18:00, "this evening"/"tonight" from 18:00, a night 18:00 to 06:00.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from edgekit.assistant.query import Window

NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
                "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90}
#: a count in a question, as digits or a word (``number()`` reads it)
N = r"(\d{1,4}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_UNITS = {"minute": "minutes", "min": "minutes", "mins": "minutes", "minutes": "minutes", "m": "minutes",
          "hour": "hours", "hours": "hours", "hr": "hours", "hrs": "hours", "h": "hours",
          "day": "days", "days": "days", "d": "days", "week": "weeks", "weeks": "weeks", "wk": "weeks", "wks": "weeks"}
_UNIT = r"(minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|m|h|d)"
_CLOCK = r"(\d{1,2})(?::(\d{2}))?(?:\s*(am|pm|a\.m\.|p\.m\.))?"
_DAYPART = r"(yesterday morning|yesterday afternoon|yesterday evening|yesterday|today|last night|this morning|" \
           r"this afternoon|this evening|tonight)"
_DAYWORD = rf"(?:\s+{_DAYPART})?"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
     "december"))}
_MONTH_ABBR = {m[:3]: n for m, n in _MONTHS.items()} | {"sept": 9}
# (start hour, end hour) of the parts of a day
_PARTS = {"morning": (0, 12), "afternoon": (12, 18), "evening": (18, 24), "night": (18, 30)}


def number(tok: str) -> int:
    """A count read by :data:`N`."""
    return int(tok) if tok.isdigit() else NUMBER_WORDS[tok]


def _midnight(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="minutes")


def _range(since: datetime | None, until: datetime | None = None) -> Window:
    return Window(name="range", since=_iso(since) if since else None, until=_iso(until) if until else None)


def _clock(h: str, m: str | None, ampm: str | None) -> tuple[int, int] | None:
    hour, minute = int(h), int(m or 0)
    ampm = (ampm or "").replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    if ampm == "am" and hour == 12:
        hour = 0
    return (hour, minute) if hour < 24 and minute < 60 else None


def _day_of(now: datetime, dayword: str | None) -> datetime | None:
    """Midnight of the day a day word names (None: no day named)."""
    if dayword is None:
        return None
    back = 1 if dayword.startswith("yesterday") or dayword == "last night" else 0
    return _midnight(now) - timedelta(days=back)


def _at(now: datetime, hm: tuple[int, int], dayword: str | None, default_past: bool = True) -> datetime:
    day = _day_of(now, dayword)
    t = (day or _midnight(now)) + timedelta(hours=hm[0], minutes=hm[1])
    if day is None and default_past and t > now:
        t -= timedelta(days=1)
    return t


def _part(day: datetime, part: str) -> Window:
    a, b = _PARTS[part]
    return _range(day + timedelta(hours=a), day + timedelta(hours=b))


def _weekday(now: datetime, name: str, before_today: bool) -> datetime:
    """Midnight of the most recent ``name`` (today's when it is today, unless ``before_today``)."""
    back = (now.weekday() - _WEEKDAYS.index(name)) % 7
    if back == 0 and before_today:
        back = 7
    return _midnight(now) - timedelta(days=back)


def _month(now: datetime, month: int, back_years: int = 0) -> tuple[datetime, datetime]:
    """[first, next first) of the most recent ``month`` (this one while it lasts)."""
    year = now.year - (1 if month > now.month else 0) - back_years
    first = _midnight(now).replace(year=year, month=month, day=1)
    nxt = first.replace(year=year + 1, month=1) if month == 12 else first.replace(month=month + 1)
    return first, nxt


def _date(now: datetime, month: int, dom: int) -> datetime | None:
    try:
        day = _midnight(now).replace(month=month, day=dom)
    except ValueError:
        return None
    return day.replace(year=day.year - 1) if day > now else day


def _normalise(q: str) -> str:
    q = re.sub(r"\b(noon|midday)\b", "12:00", q)
    q = re.sub(r"(?<!since )\bmidnight\b", "0:00", q)
    q = re.sub(r"\b(\d{1,4})\s*(hours?|hrs?|h|minutes?|mins?|m|days?|d)\b", r"\1 \2", q)  # "24h" → "24 h"
    # "after 10 last night": a bare hour from 6 to 11 before an evening word is p.m.
    q = re.sub(r"\b([6-9]|1[01])(:\d{2})?(?=\s+(?:last night|tonight|this evening|yesterday evening)\b)", r"\1\2pm", q)
    return re.sub(r"\ba couple of\b|\ba couple\b", "two", q)


def read_window(q: str, now: datetime) -> Window | None:
    """The time window a (lower-case) question states, or None when it states none."""
    q = _normalise(q)
    midnight = _midnight(now)
    if m := re.search(rf"\b(between\s+|from\s+)?{_CLOCK}{_DAYWORD}\s+(and|to|till|until|-)\s+{_CLOCK}{_DAYWORD}", q):
        a, b = _clock(*m.group(2, 3, 4)), _clock(*m.group(7, 8, 9))
        said = m.group(1) or ""
        # "between 9 and 11"; without "between" both need am/pm or minutes ("2 to 3 events" is not a time)
        clock_like = bool(m.group(3) or m.group(4)) and bool(m.group(8) or m.group(9))
        if a and b and (said.startswith("between") or (said and (m.group(3) or m.group(4) or m.group(8)
                                                                    or m.group(9))) or (m.group(6) != "and"
                                                                                          and clock_like)):
            day_a, day_b = m.group(5), m.group(10)
            since = _at(now, a, day_a)
            until = _at(now, b, day_b or ("today" if day_a and day_a.startswith("yesterday") else day_a))
            if until <= since:  # "between 23:00 and 01:00": the end is on the next day
                until += timedelta(days=1)
            return _range(since, until)
    after = re.search(rf"\b(?:since|after|from)\s+{_CLOCK}{_DAYWORD}\b", q)
    before = re.search(rf"\b(?:before|until|till|up to)\s+{_CLOCK}{_DAYWORD}(?!\s*(?:min|sec|hour|day|week|event))", q)
    if after and before and (hm_a := _clock(*after.group(1, 2, 3))) and (hm_b := _clock(*before.group(1, 2, 3))):
        since = _at(now, hm_a, after.group(4))  # "after 10 last night, before midnight": the end follows the start
        until = _at(now, hm_b, before.group(4)) if before.group(4) else \
            _midnight(since) + timedelta(hours=hm_b[0], minutes=hm_b[1])
        return _range(since, until if until > since else until + timedelta(days=1))
    if m := re.search(rf"\b(?:before|until|till|up to|by)\s+{_CLOCK}{_DAYWORD}(?!\s*(?:min|sec|hour|day|week|event))",
                      q):
        hm = _clock(*m.group(1, 2, 3))
        if hm and (m.group(2) or m.group(3) or m.group(4) or not m.group(0).startswith("by")):
            day = _day_of(now, m.group(4)) or midnight
            until = day + timedelta(hours=hm[0], minutes=hm[1])
            return _range(day, until if until > day else until + timedelta(days=1))  # "before midnight"
    if m := re.search(rf"\b(?:since|after|from)\s+{_CLOCK}{_DAYWORD}\b", q):
        hm = _clock(*m.group(1, 2, 3))
        tail = q[m.end():]
        # a bare "after 9" is a clock hour unless a unit follows ("after 9 minutes" is not a time of day)
        if hm and (m.group(2) or m.group(3) or m.group(4) or not re.match(r"\s*(min|sec|hour|day|week|event)", tail)):
            return _range(_at(now, hm, m.group(4)))
    if re.search(r"\bsince midnight\b|\bearlier today\b", q):
        return Window(name="today")
    if m := re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", q):
        day = midnight.replace(year=int(m.group(1)), month=int(m.group(2)), day=int(m.group(3)))
        return _range(day, day + timedelta(days=1))
    months = "|".join([*_MONTHS, *_MONTH_ABBR])
    if m := re.search(rf"\b({months})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!:)|"
                      rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({months})\b", q):
        name, dom = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        if (date := _date(now, _MONTHS.get(name) or _MONTH_ABBR[name], int(dom))) is not None:
            return _range(date, date + timedelta(days=1))
    if m := re.search(rf"\b{N}\s+days?\s+ago\b", q):
        day = midnight - timedelta(days=number(m.group(1)))
        return _range(day, day + timedelta(days=1))
    if re.search(r"\bday before yesterday\b", q):
        return _range(midnight - timedelta(days=2), midnight - timedelta(days=1))
    if m := re.search(rf"\b(?:last|past|previous|recent|within|in)\s+{N}\s+{_UNIT}\b", q):
        unit = _UNITS[m.group(2)]
        return Window(name="last", amount=number(m.group(1)), unit=unit)  # type: ignore[arg-type]
    if m := re.search(r"\b(?:last|past|previous)\s+(minute|hour|day|fortnight)\b", q):
        if m.group(1) == "fortnight":
            return Window(name="last", amount=14, unit="days")
        return Window(name="last", amount=1, unit=_UNITS[m.group(1)])  # type: ignore[arg-type]
    if re.search(r"\b(?:the|this)\s+(?:last|past|previous)\s+week\b|\bpast week\b|\bwithin a week\b", q):
        return Window(name="last", amount=7, unit="days")
    if re.search(r"\blast week'?s?\b|\bprevious week\b|\bweek before\b", q):  # the calendar week before this one
        start = midnight - timedelta(days=now.weekday() + 7)
        return _range(start, start + timedelta(days=7))
    if re.search(r"\b(?:the|this)\s+(?:last|past)\s+month\b|\bpast month\b", q):
        return Window(name="last", amount=30, unit="days")
    if re.search(r"\blast month'?s?\b|\bprevious month\b", q):
        first, nxt = _month(now, now.month - 1 or 12)
        return _range(first, nxt)
    if re.search(r"\bthis month'?s?\b|\bso far this month\b", q):
        return _range(midnight.replace(day=1))
    if m := re.search(rf"\b(?:in|during|for|throughout|over|since|of|all of|whole|from)\s+({months})\b(?!\s+\d)", q):
        first, nxt = _month(now, _MONTHS.get(m.group(1)) or _MONTH_ABBR[m.group(1)])
        return _range(first) if m.group(0).startswith("since") else _range(first, nxt)
    if m := re.search(r"\b(this|last|the|over the)\s+weekend\b", q):
        saturday = _weekday(now, "saturday", before_today=False)  # the weekend under way, or the one just gone
        if m.group(1) == "last" and now.weekday() >= 5:
            saturday -= timedelta(days=7)
        return _range(saturday, saturday + timedelta(days=2))
    weekdays = "|".join(_WEEKDAYS)
    if m := re.search(rf"\b(since|after|last|past|previous|this past|on|)\s*({weekdays})(?:'s)?"
                      r"(\s+(?:morning|afternoon|evening|night))?\b", q):
        before_today = m.group(1) in ("since", "after", "last", "past", "previous", "this past")
        day = _weekday(now, m.group(2), before_today)
        if m.group(1) in ("since", "after"):
            return _range(day if m.group(1) == "since" else day + timedelta(days=1))
        if m.group(3):
            return _part(day, m.group(3).strip())
        return _range(day, day + timedelta(days=1))
    if m := re.search(r"\b(yesterday|this)\s+(morning|afternoon|evening)\b|\btonight\b", q):
        day = midnight - timedelta(days=1) if m.group(1) == "yesterday" else midnight
        return _part(day, m.group(2) or "evening")
    if re.search(r"\blast night\b|\bovernight\b", q):
        return _part(midnight - timedelta(days=1), "night")
    if re.search(r"\bsince yesterday\b", q):
        return _range(midnight - timedelta(days=1))
    if re.search(r"\byesterday'?s?\b", q):
        return Window(name="yesterday")
    if re.search(r"\btoday'?s?\b|\bso far today\b", q):
        return Window(name="today")
    if re.search(r"\bthis week'?s?\b|\bso far this week\b|\b(of|in|during) the week\b", q):
        return Window(name="this_week")
    if re.search(r"\bthis year'?s?\b", q):
        return _range(midnight.replace(month=1, day=1))
    if re.search(r"\b(ever|in total|total|all time|all-time|overall|so far|altogether|of all time|history)\b", q):
        return Window(name="all_time")
    return None
