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
from collections.abc import Callable
from dataclasses import dataclass, field
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
_UNITS_ES_DE = {"minutos": "minutes", "horas": "hours", "días": "days", "dias": "days", "semanas": "weeks",
                "minuten": "minutes", "stunden": "hours", "tage": "days", "tagen": "days", "wochen": "weeks"}
_UNIT_ES_DE = "(" + "|".join(_UNITS_ES_DE) + ")"
_CLOCK = r"(\d{1,2})(?::(\d{2}))?(?:\s*(am|pm|a\.m\.|p\.m\.))?"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYPART = r"((?:the )?day before yesterday|yesterday morning|yesterday afternoon|yesterday evening|yesterday|" \
           r"today|last night|this morning|this afternoon|this evening|tonight|" \
           rf"(?:on |last |this past )?(?:{'|'.join(_WEEKDAYS)}))"
_DAYWORD = rf"(?:\s+{_DAYPART})?"
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
    if weekday := next((d for d in _WEEKDAYS if d in dayword), None):  # "from 1:30 to 3 pm on tuesday"
        return _weekday(now, weekday, before_today=dayword.startswith(("last", "this past")))
    back = 2 if "day before" in dayword else 1 if dayword.startswith("yesterday") or dayword == "last night" else 0
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


def _quarter_to(m: re.Match[str]) -> str:
    hour = int(m.group(1))
    return f"{hour - 1 if hour > 1 else 12}:45"  # "quarter to 1" is 12:45, its am/pm (if any) still after it


def _normalise(q: str) -> str:
    # clock words: "half past 9" → 9:30, "quarter to 1" → 12:45, "4 in the afternoon" → 4pm
    q = re.sub(r"\bhalf past (\d{1,2})\b", r"\1:30", q)
    q = re.sub(r"\b(?:a )?quarter past (\d{1,2})\b", r"\1:15", q)
    q = re.sub(r"\b(?:a )?quarter to (\d{1,2})\b", _quarter_to, q)
    q = re.sub(r"\b(\d{1,2}(?::\d{2})?)(?: o'?clock)? in the (afternoon|evening)\b", r"\1pm", q)
    q = re.sub(r"\b(\d{1,2}(?::\d{2})?)(?: o'?clock)? in the morning\b", r"\1am", q)
    q = re.sub(r"\b(noon|midday)\b", "12:00", q)
    q = re.sub(r"(?<!since )\bmidnight\b", "0:00", q)
    q = re.sub(r"\b(\d{1,4})\s*(hours?|hrs?|h|minutes?|mins?|m|days?|d)\b", r"\1 \2", q)  # "24h" → "24 h"
    # "after 10 last night": a bare hour from 6 to 11 before an evening word is p.m.
    q = re.sub(r"\b([6-9]|1[01])(:\d{2})?(?=\s+(?:last night|tonight|this evening|yesterday evening)\b)", r"\1\2pm", q)
    return re.sub(r"\ba couple of\b|\ba couple\b", "two", q)


Reader = Callable[[re.Match[str], datetime], "Window | None"]


@dataclass(frozen=True)
class TimeRow:
    """One time phrase: ``pattern`` found in the question, read by ``read`` into a window (None: not this row
    after all, the next row is tried)."""

    name: str
    pattern: str
    read: Reader
    examples: tuple[str, ...]
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern))


def _clock_range(m: re.Match[str], now: datetime) -> Window | None:
    """ "between 9 and 11", "from 2 to 4:30 pm the day before yesterday", "10pm last night to 6am"."""
    a, b = _clock(*m.group(2, 3, 4)), _clock(*m.group(7, 8, 9))
    if not (a and b and _said_as_clock(m)):
        return None
    if not m.group(4) and (m.group(9) or "").startswith("p") and a[0] < 12 and a[0] + 12 <= b[0]:
        a = (a[0] + 12, a[1])  # "between 8 and 10 pm": the pm is both ends'
    day_a, day_b = m.group(5) or m.group(10), m.group(10)
    if day_a is None:  # "on sunday between 1:30 and 4", "yesterday between 8 and 11": both ends on that day
        day_a = day_b = _day_elsewhere(m)
    if re.search(r"(afternoon|evening)$", day_b or day_a or "") and not (m.group(4) or m.group(9)):
        a, b = _pm(a), _pm(b)  # "from 2 to 4 this afternoon": 14:00 to 16:00
    since = _at(now, a, day_a)
    until = _at(now, b, day_b or ("today" if day_a and day_a.startswith("yesterday") else day_a))
    if until <= since:  # "between 23:00 and 01:00": the end is on the next day
        until += timedelta(days=1)
    return _range(since, until)


def _pm(hm: tuple[int, int]) -> tuple[int, int]:
    return (hm[0] + 12, hm[1]) if hm[0] < 12 else hm


def _said_as_clock(m: re.Match[str]) -> bool:
    """Whether a clock range's numbers are times: "between 9 and 11"; after "from", with am/pm or minutes at either
    end or a day part right after ("from 6 to 9 this morning"); bare, with am/pm or minutes at both ends ("2 to 3
    events" is not a time)."""
    said = m.group(1) or ""
    marked_a, marked_b = bool(m.group(3) or m.group(4)), bool(m.group(8) or m.group(9))
    if said.startswith("between"):
        return True
    if said:
        return marked_a or marked_b or bool(m.group(5) or m.group(10))
    return m.group(6) != "and" and marked_a and marked_b


def _day_elsewhere(m: re.Match[str]) -> str | None:
    """A day the question names away from its clock range ("on sunday between 1:30 and 4")."""
    rest = m.string[:m.start()] + " " + m.string[m.end():]
    found = re.search(rf"\b{_DAYPART}\b", rest)
    return found.group(1) if found and found.group(1) != "today" else None


def _after_before(m: re.Match[str], now: datetime) -> Window | None:
    """ "after 10 last night, before midnight": the end follows the start."""
    hm_a, hm_b = _clock(*m.group(1, 2, 3)), _clock(*m.group(5, 6, 7))
    if hm_a is None or hm_b is None:
        return None
    since = _at(now, hm_a, m.group(4))
    until = _at(now, hm_b, m.group(8)) if m.group(8) else _midnight(since) + timedelta(hours=hm_b[0],
                                                                                      minutes=hm_b[1])
    return _range(since, until if until > since else until + timedelta(days=1))


def _before(m: re.Match[str], now: datetime) -> Window | None:
    hm = _clock(*m.group(1, 2, 3))
    if not hm or not (m.group(2) or m.group(3) or m.group(4) or not m.group(0).startswith("by")):
        return None
    day = _day_of(now, m.group(4)) or _midnight(now)
    until = day + timedelta(hours=hm[0], minutes=hm[1])
    return _range(day, until if until > day else until + timedelta(days=1))  # "before midnight"


def _after(m: re.Match[str], now: datetime) -> Window | None:
    """ "since 9am": to now; "after 9pm yesterday", "yesterday after 9pm": to the end of that day."""
    hm = _clock(*m.group(3, 4, 5))
    tail = m.string[m.end():]
    # a bare "after 9" is a clock hour unless a unit follows ("after 9 minutes" is not a time of day)
    if not hm or not (m.group(4) or m.group(5) or m.group(6) or not re.match(r"\s*(min|sec|hour|day|week|event)",
                                                                              tail)):
        return None
    dayword = m.group(6) or m.group(1)
    since = _at(now, hm, dayword)
    past_day = m.group(2) == "after" and dayword is not None and (_day_of(now, dayword) or now) < _midnight(now)
    return _range(since, _midnight(since) + timedelta(days=1) if past_day else None)


def _iso_date(m: re.Match[str], now: datetime) -> Window | None:
    day = _midnight(now).replace(year=int(m.group(1)), month=int(m.group(2)), day=int(m.group(3)))
    return _range(day, day + timedelta(days=1))


def _month_day(m: re.Match[str], now: datetime) -> Window | None:
    name, dom = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    date = _date(now, _MONTHS.get(name) or _MONTH_ABBR[name], int(dom))
    return None if date is None else _range(date, date + timedelta(days=1))


def _days_ago(m: re.Match[str], now: datetime) -> Window | None:
    day = _midnight(now) - timedelta(days=number(m.group(1)))
    return _range(day, day + timedelta(days=1))


def _day_back(back: int) -> Reader:
    def read(m: re.Match[str], now: datetime) -> Window:
        day = _midnight(now) - timedelta(days=back)
        return _range(day, day + timedelta(days=1))
    return read


def _last_n(m: re.Match[str], now: datetime) -> Window | None:
    return Window(name="last", amount=number(m.group(1)), unit=_UNITS[m.group(2)])  # type: ignore[arg-type]


def _last_n_es_de(m: re.Match[str], now: datetime) -> Window | None:
    return Window(name="last", amount=number(m.group(1)), unit=_UNITS_ES_DE[m.group(2)])  # type: ignore[arg-type]


def _last_one(m: re.Match[str], now: datetime) -> Window | None:
    if m.group(1) == "fortnight":
        return Window(name="last", amount=14, unit="days")
    return Window(name="last", amount=1, unit=_UNITS[m.group(1)])  # type: ignore[arg-type]


def _fixed(window: Window) -> Reader:
    return lambda m, now: window


def _calendar_week(m: re.Match[str], now: datetime) -> Window | None:
    start = _midnight(now) - timedelta(days=now.weekday() + 7)  # the calendar week before this one
    return _range(start, start + timedelta(days=7))


def _last_month(m: re.Match[str], now: datetime) -> Window | None:
    return _range(*_month(now, now.month - 1 or 12))


def _this_month(m: re.Match[str], now: datetime) -> Window | None:
    return _range(_midnight(now).replace(day=1))


def _named_month(m: re.Match[str], now: datetime) -> Window | None:
    first, nxt = _month(now, _MONTHS.get(m.group(1)) or _MONTH_ABBR[m.group(1)])
    return _range(first) if m.group(0).startswith("since") else _range(first, nxt)


def _weekend(m: re.Match[str], now: datetime) -> Window | None:
    saturday = _weekday(now, "saturday", before_today=False)  # the weekend under way, or the one just gone
    if m.group(1) == "last" and now.weekday() >= 5:
        saturday -= timedelta(days=7)
    return _range(saturday, saturday + timedelta(days=2))


def _named_weekday(m: re.Match[str], now: datetime) -> Window | None:
    before_today = m.group(1) in ("since", "after", "last", "past", "previous", "this past")
    day = _weekday(now, m.group(2), before_today)
    if m.group(1) in ("since", "after"):
        return _range(day if m.group(1) == "since" else day + timedelta(days=1))
    if m.group(3):
        return _part(day, m.group(3).strip())
    return _range(day, day + timedelta(days=1))


def _weekdays(m: re.Match[str], now: datetime) -> Window | None:
    """ "from monday to wednesday", "on tuesday and wednesday": the days from the first to the second, each whole
    ("and" only joins days next to each other: "monday and wednesday" is not one window)."""
    first, last = _weekday(now, m.group(2), False), _weekday(now, m.group(4), False)
    if first > last:
        first -= timedelta(days=7)
    if m.group(3) == "and" and not m.group(1) and last - first != timedelta(days=1):
        return None
    return _range(first, last + timedelta(days=1))


def _day_part(m: re.Match[str], now: datetime) -> Window | None:
    day = _midnight(now) - timedelta(days=1) if m.group(1) == "yesterday" else _midnight(now)
    return _part(day, m.group(2) or "evening")


def _last_night(m: re.Match[str], now: datetime) -> Window | None:
    return _part(_midnight(now) - timedelta(days=1), "night")


def _since_yesterday(m: re.Match[str], now: datetime) -> Window | None:
    return _range(_midnight(now) - timedelta(days=1))


def _this_year(m: re.Match[str], now: datetime) -> Window | None:
    return _range(_midnight(now).replace(month=1, day=1))


_MONTH_WORDS = "|".join([*_MONTHS, *_MONTH_ABBR])
_WEEKDAY_WORDS = "|".join(_WEEKDAYS)
_STOP_UNIT = r"(?!\s*(?:min|sec|hour|day|week|event))"
#: the time phrases, tried in this order; the first that reads a window wins
TIME_ROWS = [
    TimeRow("clock range", rf"\b(between\s+|from\s+)?{_CLOCK}{_DAYWORD}\s+(and|to|till|until|-)\s+{_CLOCK}{_DAYWORD}",
            _clock_range, ("between 8 and 10 pm yesterday", "from 2 to 4:30 pm the day before yesterday",
                           "10pm last night to 6am", "from 1:30 to 3 pm on monday", "between noon and 6pm on monday",
                           "on sunday between 1:30 and 4 in the afternoon",
                           "between half past 9 and quarter to 1 today", "from 6 to 9 this morning",
                           "from 2 to 4 this afternoon")),
    TimeRow("after … before …", rf"\b(?:since|after|from)\s+{_CLOCK}{_DAYWORD}\b.*?\b(?:before|until|till|up to)\s+"
            rf"{_CLOCK}{_DAYWORD}{_STOP_UNIT}", _after_before, ("after 10 last night, before midnight",)),
    TimeRow("before a clock time", rf"\b(?:before|until|till|up to|by)\s+{_CLOCK}{_DAYWORD}{_STOP_UNIT}", _before,
            ("before 8 this morning", "until noon yesterday")),
    TimeRow("after a clock time", rf"(?:\b{_DAYPART}\s+)?\b(since|after|from)\s+{_CLOCK}{_DAYWORD}\b", _after,
            ("since 10pm", "after 9", "yesterday after 9pm")),
    TimeRow("since midnight", r"\bsince midnight\b|\bearlier today\b", _fixed(Window(name="today")),
            ("since midnight",)),
    TimeRow("a date", r"\b(\d{4})-(\d{2})-(\d{2})\b", _iso_date, ("on 2026-03-05",)),
    TimeRow("a day of a month", rf"\b({_MONTH_WORDS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!:)|"
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_WORDS})\b", _month_day, ("on March 5th",)),
    TimeRow("N days ago", rf"\b{N}\s+days?\s+ago\b", _days_ago, ("3 days ago",)),
    TimeRow("the day before yesterday", r"\bday before yesterday\b|\banteayer\b|\bvorgestern\b", _day_back(2),
            ("the day before yesterday", "¿cuántas caídas hubo anteayer?", "vorgestern")),
    TimeRow("the last N hours", rf"\b(?:last|past|previous|recent|within|in)\s+{N}\s+{_UNIT}\b", _last_n,
            ("in the last 48 hours", "past 90 mins", "in the last 24h")),
    TimeRow("the last N hours (es/de)", rf"\b(?:[uú]ltim[oa]s|letzten|vergangenen)\s+{N}\s+{_UNIT_ES_DE}\b",
            _last_n_es_de, ("en los últimos 3 días", "in den letzten 3 Tagen")),
    TimeRow("the last hour", r"\b(?:last|past|previous)\s+(minute|hour|day|fortnight)\b", _last_one,
            ("in the past hour",)),
    TimeRow("the past week", r"\b(?:the|this)\s+(?:last|past|previous)\s+week\b|\bpast week\b|\bwithin a week\b",
            _fixed(Window(name="last", amount=7, unit="days")), ("in the past week",)),
    TimeRow("last week", r"\blast week'?s?\b|\bprevious week\b|\bweek before\b", _calendar_week, ("last week",)),
    TimeRow("the past month", r"\b(?:the|this)\s+(?:last|past)\s+month\b|\bpast month\b",
            _fixed(Window(name="last", amount=30, unit="days")), ("over the past month",)),
    TimeRow("last month", r"\blast month'?s?\b|\bprevious month\b", _last_month, ("last month",)),
    TimeRow("this month", r"\bthis month'?s?\b|\bso far this month\b", _this_month, ("this month",)),
    TimeRow("a month", rf"\b(?:in|during|for|throughout|over|since|of|all of|whole|from)\s+({_MONTH_WORDS})\b"
            r"(?!\s+\d)", _named_month, ("in february", "the events from february please")),
    TimeRow("a weekend", r"\b(this|last|the|over the)\s+weekend\b", _weekend, ("over the weekend",)),
    TimeRow("two weekdays", rf"\b(from\s+|between\s+)?({_WEEKDAY_WORDS})s?\s+(and|to|through|thru|till|until|-)"
            rf"\s+({_WEEKDAY_WORDS})\b", _weekdays, ("on tuesday and wednesday", "from monday to wednesday")),
    TimeRow("a weekday", rf"\b(since|after|last|past|previous|this past|on|)\s*({'|'.join(_WEEKDAYS)})(?:'s)?"
            r"(\s+(?:morning|afternoon|evening|night))?\b", _named_weekday, ("on friday", "since saturday")),
    TimeRow("a part of a day", r"\b(yesterday|this)\s+(morning|afternoon|evening)\b|\btonight\b", _day_part,
            ("this morning", "yesterday evening")),
    TimeRow("last night", r"\blast night\b|\bovernight\b", _last_night, ("last night",)),
    TimeRow("since yesterday", r"\bsince yesterday\b", _since_yesterday, ("since yesterday",)),
    TimeRow("yesterday", r"\byesterday'?s?\b|\bayer\b|\bgestern\b|\bgestrig(?:e[nmrs]?)?\b",
            _fixed(Window(name="yesterday")),
            ("yesterday", "¿cuántas caídas hubo ayer?", "wie viele Stürze gab es gestern?",
             "die gestrigen Stürze")),
    TimeRow("today", r"\btoday'?s?\b|\bso far today\b|\bhoy\b|\bheute\b|\bheutig(?:e[nmrs]?)?\b",
            _fixed(Window(name="today")),
            ("today", "caídas hoy", "Stürze heute", "welcher Anteil der heutigen Ereignisse?")),
    TimeRow("this week", r"\bthis week'?s?\b|\bso far this week\b|\b(of|in|during) the week\b|\besta semana\b|"
            r"\bdiese[rn]? woche\b", _fixed(Window(name="this_week")),
            ("this week", "the first one of the week", "esta semana", "diese Woche")),
    TimeRow("this year", r"\bthis year'?s?\b", _this_year, ("this year",)),
    TimeRow("all time", r"\b(ever|in total|total|all time|all-time|overall|so far|altogether|of all time|history)\b",
            _fixed(Window(name="all_time")), ("ever",)),
]


def read_window(q: str, now: datetime, lang: str = "en") -> Window | None:
    """The time window a (lower-case) question states, or None when it states none (``lang`` "es"/"de": phrases
    no row reads are given to dateparser)."""
    q = _normalise(q)
    for row in TIME_ROWS:
        if (m := row.regex.search(q)) and (window := row.read(m, now)) is not None:
            return window
    return _dateparser_day(q, now, lang) if lang != "en" else None


def time_row(q: str, now: datetime) -> str | None:
    """The name of the row that reads ``q``'s window (the reader's table test and docs)."""
    q = _normalise(q.lower())
    return next((row.name for row in TIME_ROWS if (m := row.regex.search(q)) and row.read(m, now)), None)


def _dateparser_day(q: str, now: datetime, lang: str) -> Window | None:
    """A day named in Spanish or German that no row reads ("el lunes", "vor 3 Tagen"): dateparser finds it, the
    window is that whole day. Imported here: it takes ~0.4 s, and only such questions need it."""
    try:
        from dateparser.search import search_dates
    except ImportError:
        return None
    settings = {"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "past"}
    found = [(text, t) for text, t in search_dates(q, languages=[lang], settings=settings) or []  # type: ignore[arg-type]
             if len(text) > 3]  # "die" is not Dienstag: a lone short word is an article far more often
    if not found:
        return None
    day = _midnight(now).replace(year=found[0][1].year, month=found[0][1].month, day=found[0][1].day)
    return _range(day, day + timedelta(days=1))
