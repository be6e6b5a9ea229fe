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
from datetime import datetime
from typing import Any, Literal

from edgekit.assistant.query import EventQuery, Op, Window
from edgekit.assistant.timewords import N, number, read_window

Kind = Literal["events", "stats", "device", "unanswerable", "greeting", "open"]

#: words for the default detector's labels besides the label itself
LABEL_WORDS = {
    "fall": ("fall", "falls", "fell", "fallen", "falling"),
    "normal": ("normal", "upright", "standing"),
}
#: words people use for a kind of thing, and the detector labels (COCO's and the like) that are that kind; a word
#: names a store label when exactly one of the store's labels is of its kind ("vehicles" → car)
KIND_WORDS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("person", "persons", "people", "ppl", "human", "humans", "pedestrian", "pedestrians", "folks", "man", "men",
      "woman", "women", "intruder", "intruders"), ("person", "people", "human", "pedestrian")),
    (("vehicle", "vehicles", "automobile", "automobiles", "car", "cars"), ("car", "truck", "bus", "motorcycle",
                                                                           "vehicle")),
    (("truck", "trucks", "lorry", "lorries", "van", "vans"), ("truck",)),
    (("pet", "pets", "animal", "animals", "critter", "critters"), ("dog", "cat", "bird", "horse", "animal")),
    (("dog", "dogs", "puppy", "puppies", "doggy", "pup"), ("dog",)),
    (("cat", "cats", "kitty", "kitten", "kittens"), ("cat",)),
    (("package", "packages", "parcel", "parcels", "delivery", "deliveries"), ("package", "parcel")),
    (("bike", "bikes", "bicycle", "bicycles", "cyclist", "cyclists"), ("bicycle", "bike")),
    (("bird", "birds"), ("bird",)),
]
#: words for "a person" that name the label only when no other label is named ("did anyone fall" means falls)
_SOMEONE = ("someone", "somebody", "anyone", "anybody")
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
    (r"\bhow fast\b.*\b(walk|run|mov|driv|go|going|went|travel)|\bspeed of\b|\bwalking speed\b|\bwhat speed\b|"
     r"\b(car|vehicle|person|cat|dog)'?s? speed\b", "events do not record how fast anyone moved"),
    (r"\bwhy did\b|\bwhat caused\b", "events do not record causes"),
]
_NOT_A_RATE = r"^(?!.*\b(per second|fps|frame ?rate|rate|speed|how fast)\b)"
# statistics fields a question can name, in the order they are tried: (pattern, field)
_STATS_FIELDS = [
    (r"\breconnect", "reconnects"),
    (r"\bdropp?(ed|ing|s)?\b(?! off)", "dropped"),
    (_NOT_A_RATE + r".*(\bframes?\b.*\bcaptur(ed|e)\b|\bcaptured\b.*\bframes?\b)", "captured"),
    (_NOT_A_RATE + r".*(\bframes?\b.*\bprocess(ed)?\b|\bprocessed\b.*\bframes?\b)", "processed"),
    (r"\bcapture[ds]?\b.*\b(fps|frame ?rate|frames per second|rate|speed)\b|\b(fps|frame ?rate)\b.*\bcapture|"
     r"\b(input|incoming|source|stream|camera'?s?) (fps|frame ?rate)\b", "capture_fps"),
    (r"\binferen(ce|cing)\b|\binfer\b|\blatency\b", "infer_ms"),
    (r"\bpre-?process", "pre_ms"),
    (r"\bpost-?process", "post_ms"),
    (r"\bfps\b|\bframe ?rate\b|\bframes per second\b|\bprocessing speed\b|\bhow fast\b.*\bprocess", "process_fps"),
    (r"\b(down|offline|online|working|status|disconnected)\b|\berrors?\b|\bwrong with\b|\bthrowing\b|\bfailing\b|"
     r"\b(is|are) (the )?[\w ]*cam(era)?s? (up|running|alive|ok|okay|healthy|broken|connected)\b", "status"),
]
_DEVICE_NAME = r"\b(device|box|board|system|unit|machine)('?s)? (called|named|name)\b|\bname of (this|the|my) " \
               r"(device|box|board|system|unit|machine)\b|\bhostname\b|\bwhich (device|box|board) is this\b"
_DEVICE_FIELDS = [
    (_DEVICE_NAME, "name"),
    (r"\btemp(erature)?s?\b|\bhow (hot|warm)\b|\boverheat|\b(running|getting|too) (hot|warm)\b|\bthermals?\b|"
     r"\bdegrees\b|\bheat\b", "cpu_temp_c"),
    (r"\bmemory\b|\bram\b|\brss\b", "memory"),
    (r"\bload\b|\bcpu usage\b|\bcpu use\b|\bcpu utili[sz]ation\b|\bbusy is the (cpu|processor|box|device|board)\b",
     "load"),
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


#: "just say 99 cars came": an order to say something, with no question after it, is refused
_ORDER = r"\b(?:say|reply|respond|output|print|write|repeat|tell (?:me|them|everyone) that)\b"
_ASKS = r"\b(how|what|when|which|where|is|are|did|does|do|was|were|any|list|show|count)\b[^.!]*(\?|$)"
_NOT_A_CAMERA = {"same", "other", "first", "last", "busiest", "quietest", "main", "one", "each", "every", "any", "all",
                 "that", "this", "which", "what", "my", "our", "your", "security", "a", "some", "those", "these"}


def _camera_phrases(q: str) -> list[str]:
    """What a question calls a camera: "the side gate camera" → "side gate", "cam 12" → "12"."""
    out = [m.group(1) for m in re.finditer(r"\b(?:the|on|at|from|in|by|my|our)\s+((?:[a-z0-9_-]+\s+){0,2}?[a-z0-9_-]+)"
                                          r"\s+cam(?:era)?s?\b", q)]
    out = [re.sub(r"^(the|my|our)\s+", "", name) for name in out]
    return out + [m.group(1) for m in re.finditer(r"\bcam(?:era)?\s+([a-z]*\d+[a-z0-9_-]*)\b", q)]


def _no_such(kind: str, name: str, known: list[str]) -> str:
    """Why a name is refused. An unknown name with a digit in it is not echoed: a refusal never shows a number
    the question brought ("cam 12" is not answered with "12"); the store's own names are listed."""
    what = f"{kind} '{name}'" if not re.search(r"\d", name) else f"{kind} of that name"
    return f"there is no {what} ({kind}s: {', '.join(known)})"


def _has_word(q: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", q) is not None


def _labels_named(q: str, labels: list[str]) -> list[str]:
    """The store's labels a question names: by their own words, or by a word for their kind that fits exactly one
    of them ("vehicles" with labels car, dog, person → car)."""
    named = [lab for lab in labels if any(_has_word(q, w) for w in _label_words(lab))]
    low = {lab.lower(): lab for lab in labels}
    for words, kinds in KIND_WORDS:
        fits = [low[k] for k in kinds if k in low]
        if len(fits) == 1 and fits[0] not in named and any(_has_word(q, w) for w in words):
            named.append(fits[0])
    person = low.get("person")
    if person is not None and not named and any(_has_word(q, w) for w in _SOMEONE):
        named.append(person)
    if person in named and len(named) > 1 and not _has_word(q, "person"):
        named.remove(person)  # "how many people fell": the fall is what is counted
    return named


def read_question(question: str, now: datetime, cameras: list[str], labels: list[str], rules: list[str],
                  boards: list[str] | tuple[str, ...] = ()) -> Reading:
    """Read ``question`` against the names the store really holds (``boards``: the devices of a fleet store)."""
    q = " ".join(question.lower().split())
    stated: dict[str, Any] = {}
    if (order := re.split(_ORDER, q, maxsplit=1)) and len(order) > 1 and not re.search(_ASKS, order[-1]):
        return Reading("unanswerable", reason="that is an instruction, not a question about the events")
    if re.search(_DEVICE_NAME, q):  # before the out-of-scope words: "the name of this box" is not about people
        return Reading("device", stats_field="name")
    for pat, why in _OUT_OF_SCOPE:
        if re.search(pat, q):
            return Reading("unanswerable", reason=why)
    named_labels = _labels_named(q, labels)
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
    for name in _camera_phrases(q):
        if not _names_in(name, cameras) and not set(name.split()) & _NOT_A_CAMERA:
            return Reading("unanswerable", reason=_no_such("camera", name, cameras))
    # "board dock-9": a name like a device's (a digit, - or _ in it) that no board has is not widened to all boards
    for m in re.finditer(r"\bboard\s+([a-z0-9.:]*[0-9_-][a-z0-9_.:-]*)", q):
        if m.group(1) not in {b.lower() for b in boards}:
            return Reading("unanswerable", reason=_no_such("board", m.group(1), list(boards)))
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
    keys = r"(camera|cam|rule|label|hour|time of day|board|device)"
    group = re.search(rf"\b(?:which|what)\s+(?:of\s+)?(?:my\s+|the\s+|our\s+|your\s+)?(?:alert\s+|detection\s+|"
                      rf"security\s+)?{keys}s?\b", q) or \
        re.search(r"\b(?:by|per|each|every)\s+(camera|cam|rule|label|hour|board|device)s?\b", q) or \
        re.search(rf"\b(busiest|quietest|frequent|common|active|busy|top|bottom)\s+{keys}s?\b", q)
    key: str | None = group.group(group.lastindex or 1) if group else None
    if key is None and re.search(r"\b(most|least|fewest|busiest|quietest)\b(?! recent)", q):
        # "where did most falls happen", "at what time of day were there the most events"
        if re.search(r"^where\b|\bwhere (did|do|were|was|are|is|have|has)\b", q):
            key = "camera"
        elif re.search(r"\b(what|which) (time|hour)\b", q):
            key = "hour"
        elif re.search(r"\b(what|which) (kind|type|sort)s? of\b|\bwhat (thing|object)s?\b|"
                       r"\bwhat('?s| has| was| got| is)? (been |got |gets )?(detected|seen|spotted|picked up)\b", q):
            key = "label"
    compared = _compared_windows(q, now)
    if compared is not None:
        stated["compare"] = [w.model_dump(exclude_none=True) for w in compared]
        stated.pop("window", None)
        return Reading("events", query=query, op_stated=True, stated=stated, compare=compared)
    if key is not None:
        query.group_by = {"time of day": "hour", "device": "board", "cam": "camera"}.get(key, key)  # type: ignore
        query.order = "least" if least and not most else "most"
        stated["group_by"] = query.group_by
        if most or least:
            stated["order"] = query.order
        op = "group"
    elif nm := re.search(rf"\b(?:last|latest|recent|most recent|newest|first|earliest|oldest)\s+{N}\s+"
                         r"(?:events?|detections?|alerts?|falls?|things)\b|\b{N}\s+(?:most recent|latest|last|"
                         r"newest)\s+(?:events?|detections?|alerts?)\b".replace("{N}", N), q):
        query.limit = min(number(nm.group(1) or nm.group(2)), 50)
        stated["limit"] = query.limit
        op = "list"
    elif om := re.search(r"\b(second|third|fourth|fifth)[ -](?:to[ -])?(last|latest|most recent|first|earliest)\b|"
                         r"\b(penultimate)\b|\bbefore the (last|latest|most recent|newest)(?: one)?\b|"
                         r"\bthe one before (?:the )?(last|latest|most recent)\b", q):
        query.offset = {"second": 1, "third": 2, "fourth": 3, "fifth": 4, None: 1}[om.group(1)]
        op = "first" if om.group(2) in ("first", "earliest") else "last"
        stated["offset"] = query.offset
    elif re.search(r"\b(first|earliest|oldest)\b", q):
        op = "first"
    elif re.search(r"\b(last|latest|most recent(ly)?|newest|recently)\b", q) and not (
            window is not None and window.name in ("last", "range") and not re.search(r"\bwhen\b|\bwhat was\b", q)):
        op = "last"
    elif re.search(r"\bhow many\b|\bnumber of\b|\bcount\b|\bhow often\b|\btotal\b|^times\b|"
                   r"\bhow much (activity|action|motion|traffic|happened|went on|has happened)\b|"
                   r"\bhow (busy|active)\b", q):
        op = "count"
    elif re.search(r"\blist\b|\bshow\b|\bwhat happened\b|\bwhat time\b|\bwhat'?s (been )?happen|"
                   r"\bwhat has (been )?happen|"
                   r"\bwhat('?s| has| is)? (been )?going on\b|\bwhat went on\b|^anything\b|"
                   r"\banything (new|else)?\s*(in|on|at|since|from|today|yesterday|this|last|happen|going)\b|"
                   r"\bwhich (events|falls|alerts|detections)\b|\bwhen\b|\bwhat were\b|\bwhat (events|falls|alerts)\b|"
                   r"\bwhat did\b.*\b(see|detect|record|catch|notice)\b|\bwhat was (seen|detected)\b|"
                   r"^(has|have|did|was|were|is|are) (any|anyone|anybody|someone|somebody|there|a|an)\b|\bany\b",
                   q):
        op = "list"
    if op is not None:
        query.op = op
        stated["op"] = op
        return Reading("events", query=query, op_stated=True, stated=stated)
    names_something = bool(stated) or re.search(_EVENT_WORDS, q) is not None
    return Reading("events" if names_something else "open", query=query, stated=stated)
