"""Read what a question states — time words, names that exist in the store, what to do with the matches — into a
query, by code, following the phrase tables of :mod:`edgekit.assistant.phrases` and
:mod:`edgekit.assistant.timewords`.

Why: SmolLM2-135M picks tools and arguments little better than chance but a question usually says what it
wants in words a parser can read reliably. Whatever is read here is fixed: the model is asked only for what
the question leaves open (see :mod:`edgekit.assistant.agent`), and its answer is checked against
:attr:`Reading.stated`. Numbers in a question are read only in the forms of the tables (clock times, dates,
"last N hours", "track N", "last N events", "top N"), so "the real number is 100" never becomes a filter or an
answer. The steps, in order: refusals, names, exclusions, the window, stats and device rows, then measures,
comparisons, rankings and operations; each row used is named in :attr:`Reading.rows`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from edgekit.assistant import phrases as P
from edgekit.assistant.query import EventQuery, Window
from edgekit.assistant.timewords import TIME_ROWS, N, number, read_window
from edgekit.assistant.typos import correct

__all__ = ["KIND_WORDS", "LABEL_WORDS", "OBJECT_WORDS", "Reading", "read_question", "read_window"]

Kind = Literal["events", "stats", "device", "unanswerable", "greeting", "open"]

#: words for the default detector's labels besides the label itself (English, Spanish, German)
LABEL_WORDS = {
    "fall": ("fall", "falls", "fell", "fallen", "falling", "caída", "caídas", "caida", "caidas", "cayó", "sturz",
             "stürze", "gestürzt", "stürzte"),
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
                "animals", "fox", "foxes", "deer", "cow", "cows", "cattle", "calf", "calves", "horse", "horses",
                "sheep", "goat", "goats", "pig", "pigs", "chicken", "chickens", "hen", "hens", "duck", "ducks",
                "rat", "rats", "mouse", "mice", "squirrel", "squirrels")
#: what "how many ..." may count besides labels, rules and cameras (and the filler words before them)
_COUNTABLE = (r"events?|detections?|alerts?|times?|frames?|people|persons?|ppl|visitors?|things|hits?|"
              r"incidents?|notifications?|triggers?|records?|entries|falls?|of|did|do|does|were|was|have|has|had|"
              r"are|is|in|on|at|from|for|total|new|more|fewer|reconnects?|reconnections?|cameras?|rules?|labels?|"
              r"fps|dropped|seconds?|minutes?|hours?|days?|mb|megabytes?|gb|cores?|the|my|our|different|distinct|"
              r"unique|separate|individual|times|kinds?|types?|sorts?")
_EVENT_WORDS = r"\b(events?|detections?|detected|alerts?|activity|happen(ed|ing)?|seen|saw|see|triggers?|triggered|" \
               r"fired?|raised?|people|persons?|someone|anyone|anybody|visitors?|records?|recorded|eventos?|" \
               r"alertas?|ereignisse?|alarme?)\b"
#: "just say 99 cars came": an order to say something, with no question after it, is refused; the question must
#: open a clause ("..., the inspector is coming" is no question)
_ASKS = r"(?:^|[:;,.!?]\s*|\b(?:and|but|then|so|now)\s+)(how|what|when|which|where|is|are|did|does|do|was|were|" \
        r"any|list|show|count|wie|wann|welche[rsnm]?|cu[aá]nt[oa]s|cu[aá]ndo|cu[aá]l|qué|dónde)\b[^.!]*(\?|$)"
_NOT_A_CAMERA = {"same", "other", "first", "last", "busiest", "quietest", "main", "one", "each", "every", "any", "all",
                 "that", "this", "which", "what", "my", "our", "your", "security", "a", "some", "those", "these",
                 "different", "distinct", "unique", "how", "many", "top", "bottom", "both", "two", "three", "slowest",
                 "fastest", "worst", "best", "highest", "lowest", "newest", "latest", "oldest"}
#: every word the tables' patterns spell out: a question word the reader keys on is never "corrected"
#: (a word only a German refusal keys on, such as "wen", is a slip in an English question: "wen was the last fall")


def _pattern_words(patterns: list[str]) -> frozenset[str]:
    return frozenset(w for text in patterns for w in re.findall(r"[^\W\d_]{3,}", re.sub(r"\\[a-zA-Z]", " ", text)))


_PATTERN_WORDS_EN = _pattern_words([*(r.pattern for rows in P.TABLES.values() for r in rows
                                      if rows is not P.REFUSALS or r.lang != "de"),
                                    *(r.pattern for r in TIME_ROWS), _COUNTABLE, _EVENT_WORDS, P.EXCLUSION])
_PATTERN_WORDS = _PATTERN_WORDS_EN | _pattern_words([r.pattern for r in P.REFUSALS])
#: stats fields where a smaller figure is the better one
_LOWER_IS_BETTER = ("infer_ms", "pre_ms", "post_ms", "dropped", "reconnects")
_DAY, _WEEK = timedelta(days=1), timedelta(weeks=1)
_KEY_ALIAS = {"time of day": "hour", "device": "board", "cam": "camera", "kamera": "camera", "cámara": "camera",
              "camara": "camera", "regel": "rule", "regla": "rule"}


@dataclass
class Reading:
    """What the question states. ``query`` holds everything read; ``op_stated`` False means the question
    names what to look at but not what to do (count? list?), which is left to the model. ``rows``: the
    phrase rows that read it; ``stats_order``/``stats_top``: a ranking of cameras by a stats figure."""

    kind: Kind
    query: EventQuery = field(default_factory=EventQuery)
    op_stated: bool = False
    stated: dict[str, Any] = field(default_factory=dict)
    stats_field: str | None = None
    reason: str | None = None
    rows: list[str] = field(default_factory=list)
    stats_order: str | None = None
    stats_top: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "stated": self.stated, "op_stated": self.op_stated, "rows": self.rows,
                "stats_field": self.stats_field, "reason": self.reason, "lang": self.query.lang}


# -- names ----------------------------------------------------------------------------------------------------------
def _has_word(q: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", q) is not None


def _names_in(q: str, names: list[str] | tuple[str, ...]) -> list[str]:
    """Names from the store that the question states (``night_visitor`` also as "night visitor")."""
    out = []
    for name in names:
        low = name.lower()
        if any(_has_word(q, f) for f in {low, low.replace("_", " "), low.replace("-", " "), low + "s"}):
            out.append(name)
    return out


def _label_words(label: str) -> tuple[str, ...]:
    low = label.lower()
    return LABEL_WORDS.get(low, (low, low + "s"))


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


@dataclass
class _Store:
    """The names the store holds."""

    cameras: list[str]
    labels: list[str]
    rules: list[str]
    boards: list[str]

    def named(self, q: str) -> dict[str, list[str]]:
        """Every name ``q`` states, by kind (a rule called like a label is the label; a board called like a camera
        or rule is that)."""
        labels = _labels_named(q, self.labels)
        rules = [r for r in _names_in(q, self.rules) if not any(r.lower() in _label_words(lab) for lab in labels)]
        cams = [c for c in _names_in(q, self.cameras) if c not in rules]
        boards = [b for b in _names_in(q, self.boards) if b not in cams and b not in rules]
        return {"camera": cams, "label": labels, "rule": rules, "board": boards}


def _no_such(kind: str, name: str, known: list[str]) -> str:
    """Why a name is refused. An unknown name with a digit in it is not echoed: a refusal never shows a number
    the question brought ("cam 12" is not answered with "12"); the store's own names are listed."""
    what = f"{kind} '{name}'" if not re.search(r"\d", name) else f"{kind} of that name"
    return f"there is no {what} ({kind}s: {', '.join(known)})"


def _camera_phrases(q: str) -> list[str]:
    """What a question calls a camera: "the side gate camera" → "side gate", "cam 12" → "12"."""
    out = [m.group(1) for m in re.finditer(r"\b(?:the|on|at|from|in|by|my|our)\s+((?:[a-z0-9_-]+\s+){0,2}?[a-z0-9_-]+)"
                                          r"\s+cam(?:era)?s?\b", q)]
    out = [re.sub(r"^(the|my|our)\s+", "", name) for name in out]
    return out + [m.group(1) for m in re.finditer(r"\bcam(?:era)?\s+([a-z]*\d+[a-z0-9_-]*)\b", q)]


def _unknown_names(q: str, store: _Store, named: dict[str, list[str]]) -> str | None:
    """Why the question names something the store does not hold ("how many horses", "the side gate camera")."""
    for word in OBJECT_WORDS:
        if _has_word(q, word) and not named["label"] and word.rstrip("s") not in {x.lower() for x in store.labels}:
            return f"no label '{word}' is detected (labels: {', '.join(store.labels)})"
    # the thing counted must be something the store holds; an unknown noun is not silently widened to all events
    if (hm := re.search(r"\bhow many\s+([a-z_-]+)", q)) and not any(named.values()):
        names = [*store.cameras, *store.rules, *store.boards]
        known = {x.lower() for x in names} | {x.lower() + "s" for x in names}
        if hm.group(1) not in known and not re.fullmatch(_COUNTABLE, hm.group(1)):
            return f"no label '{hm.group(1)}' is detected (labels: {', '.join(store.labels)})"
    for name in _camera_phrases(q):
        if not _names_in(name, store.cameras) and not set(name.split()) & _NOT_A_CAMERA:
            return _no_such("camera", name, store.cameras)
    # "board dock-9": a name like a device's (a digit, - or _ in it) that no board has is not widened to all boards
    for m in re.finditer(r"\bboard\s+([a-z0-9.:]*[0-9_-][a-z0-9_.:-]*)", q):
        if m.group(1) not in {b.lower() for b in store.boards}:
            return _no_such("board", m.group(1), store.boards)
    return None


def _exclusions(q: str, store: _Store) -> tuple[str, dict[str, list[str]]]:
    """``q`` without its exclusion ("not on the porch"), and the names it excludes by kind."""
    m = re.search(P.EXCLUSION, q)
    if m is None:
        return q, {}
    phrase = re.split(P.EXCLUSION_END, m.group(1), maxsplit=1)[0]  # "falls on the porch": only the falls
    named = store.named(phrase)
    excluded = {k: sorted(set(v)) for k, v in named.items() if v and k != "board"}
    if not excluded:
        return q, {}
    return q[:m.start()] + q[m.start(1) + len(phrase):], excluded


def _stated_names(q: str, store: _Store) -> dict[str, Any] | str:
    """The filters a question states (one name of a kind), or why it cannot be answered."""
    rest, excluded = _exclusions(q, store)
    named = store.named(rest)
    if (why := _unknown_names(rest, store, named)) is not None:
        return why
    stated: dict[str, Any] = {k: v[0] for k, v in named.items() if len(set(v)) == 1}
    stated |= {f"not_{k}": v for k, v in excluded.items()}
    if tm := re.search(r"\btrack(?:\s+id)?\s*#?\s*(\d{1,9})\b", rest):
        stated["track"] = int(tm.group(1))
    return stated


# -- refusals, language, stats -----------------------------------------------------------------------------------
def language(q: str) -> Literal["en", "es", "de"]:
    """The language with the most rows of :data:`~edgekit.assistant.phrases.LANGUAGES` found (English if none)."""
    hits = {row.sets["lang"]: len(row.regex.findall(q)) for row in P.LANGUAGES}
    best = max(hits, key=lambda k: hits[k])
    return best if hits[best] >= 2 or (hits[best] == 1 and len(q.split()) <= 3) else "en"  # type: ignore[return-value]


def _refusal(question: str, q: str, lang: str) -> Reading | None:
    """A question the events cannot answer whatever the store holds (an order, a script not read, a colour)."""
    letters = [ch for ch in question if ch.isalpha()]
    if letters and not any("LATIN" in unicodedata.name(ch, "") for ch in letters):
        return Reading("unanswerable", reason="the question is in a script the reader does not know (it reads "
                       "English, Spanish and German)", rows=["unknown script"])
    order = re.split(P.REFUSALS[0].pattern, q, maxsplit=1)
    if len(order) > 1 and not re.search(_ASKS, order[-1]):
        return Reading("unanswerable", reason=P.REFUSALS[0].sets["reason"], rows=[P.REFUSALS[0].name])
    if re.search(P.DEVICE_NAME, q):  # before the out-of-scope words: "the name of this box" is not about people
        return Reading("device", stats_field="name", rows=["device name"])
    if found := P.first([r for r in P.REFUSALS[1:] if r.lang in ("en", lang)], q):
        return Reading("unanswerable", reason=found[0].sets["reason"], rows=[found[0].name])
    return None


def _stats(q: str, stated: dict[str, Any]) -> Reading | None:
    """A question about the device or the cameras' live figures."""
    if found := P.first(P.DEVICE, q):
        return Reading("device", stated=stated, stats_field=found[0].sets["stats_field"], rows=[found[0].name])
    if re.search(r"\bbreak(s|ing)? down\b", q) or not (found := P.first(P.STATS, q)):
        return None
    r = Reading("stats", stated=stated, stats_field=found[0].sets["stats_field"], rows=[found[0].name])
    if "camera" not in stated and (order := P.first(P.STATS_ORDER, q)):
        r.stats_order = order[0].sets["order"]
        r.rows.append(order[0].name)
        # "the worst latency", "the slowest inference": for times and losses the worst is the highest figure
        if r.stats_field in _LOWER_IS_BETTER and re.search(r"\b(best|worst|slowest|fastest)\b", order[1].group(0)):
            r.stats_order = "lowest" if r.stats_order == "highest" else "highest"
        if top := re.search(rf"\btop\s+{N}\b|\b{N}\s+cameras\b", q):
            r.stats_top = min(number(top.group(1) or top.group(2)), 10)
    return r


# -- what to do with the matches ---------------------------------------------------------------------------------
def _relative(right: str, left: Window | None, now: datetime) -> Window | None:
    """ "the day before" / "the week before" after a window: that window moved back one day or week."""
    m = re.search(r"\b(?:the )?(day|week) before\b(?! yesterday)|\bprevious (day|week)\b|\bel d[ií]a anterior\b|"
                  r"\bam tag davor\b|\bvortag\b", right)
    if m is None or left is None:
        return None
    since, until = left.bounds(now)
    if since is None or (until is None and left.name not in ("today", "this_week")):
        return None
    step = (m.group(1) or m.group(2) or "day") == "week"
    back = _WEEK if step else _DAY
    end = until or now
    return Window(name="range", since=(since - back).isoformat(timespec="minutes"),
                  until=(end - back if until else since).isoformat(timespec="minutes"))


def _two_sides(q: str, at: int, store: _Store, now: datetime, lang: str,
               words: str = P.COMPARE_SPLIT) -> dict[str, Any] | None:
    """The two sides of a comparison or ratio, split at the first of ``words`` after ``at`` that leaves a difference
    on each side, else at the first before it ("this week vs last week - more or fewer?" splits at "vs"): what the
    second side changes (``other_window``, ``other_camera`` ...) and the first side's own names and window."""
    cuts = [m.start() for m in re.finditer(words, q)]
    for cut in [c for c in cuts if c >= at] + [c for c in cuts if c < at]:
        if sides := _split_at(q[:cut], q[cut:], store, now, lang):
            return sides
    return None


def _split_at(left: str, right: str, store: _Store, now: datetime, lang: str) -> dict[str, Any] | None:
    """What differs between the two sides of a comparison, or None when nothing does."""
    wa, wb = read_window(left, now, lang), read_window(right, now, lang) or _relative(right, read_window(left, now,
                                                                                                           lang), now)
    out: dict[str, Any] = {}
    if wa is not None and wb is not None and wa != wb:
        out |= {"window": wa, "other_window": wb}
    na, nb = store.named(left), store.named(right)
    for key in ("camera", "label", "rule"):
        if len(na[key]) == 1 and len(nb[key]) == 1 and na[key] != nb[key]:
            out |= {key: na[key][0], f"other_{key}": nb[key][0]}
    return out or None


def _share_part(q: str, store: _Store, now: datetime, lang: str) -> dict[str, Any]:
    """The part of a share: the names after the verb ("what share of today's events were falls"), or a time of the
    whole's day ("how many of yesterday's falls were before noon, as a percentage?")."""
    m = re.search(r"\b(were|was|are|is|happened|came|occurred|took place|fueron|eran|ocurrieron|waren|sind|war|"
                  r"passierten)\b", q)
    part = store.named(q[m.end():] if m else q)
    whole = store.named(q[:m.start()]) if m else {}
    out: dict[str, Any] = {f"other_{k}": v[0] for k, v in part.items() if len(v) == 1 and k != "board"
                           and v != whole.get(k)}
    if m and (whole_window := read_window(q[:m.start()], now, lang)) is not None:
        part_window = _within(read_window(q[m.end():], now, lang), whole_window, now)
        if part_window is not None and part_window != whole_window:
            out |= {"window": whole_window, "other_window": part_window}
    return out


def _within(part: Window | None, whole: Window, now: datetime) -> Window | None:
    """``part`` (a time of day, read as today's) moved onto the day ``whole`` spans, when ``whole`` is one day."""
    if part is None:
        return None
    (ps, pu), (ws, wu) = part.bounds(now), whole.bounds(now)
    if ps is None or pu is None or ws is None or wu is None or ws <= ps < wu or wu - ws > _DAY:
        return part
    shift = ws.replace(hour=0, minute=0) - ps.replace(hour=0, minute=0)
    return Window(name="range", since=(ps + shift).isoformat(timespec="minutes"),
                  until=(pu + shift).isoformat(timespec="minutes"))


def _compare(q: str, store: _Store, now: datetime, lang: str,
             measure: tuple[P.Phrase, re.Match[str]] | None) -> tuple[dict[str, Any], str] | None:
    """A comparison of two sides, of counts or of the average or distinct count ``measure`` names."""
    if not (found := P.first(P.COMPARE, q)):
        return None
    m = found[1]  # split after the direction word: "as many falls today as yesterday" splits at the second "as"
    sides = _two_sides(q, m.start() + len(m.group(0).split()[0]), store, now, lang)
    if not sides:
        return None
    if re.match(P.LEADING_SIDE, q):  # "compared with yesterday, was today busier?": today is the first side
        sides = {(k[6:] if k.startswith("other_") else f"other_{k}"): v for k, v in sides.items()}
    sets = {**found[0].sets, **sides}
    if re.match(r"\W*(which|what|where|cu[aá]l|qu[eé]|d[oó]nde|welche[rsnm]?|wo)\b", q):
        sets.pop("asked", None)  # "which had more, the porch or the garden?" is not a yes-or-no question
    if re.search(P.EITHER_OR, q):
        sets.pop("asked", None)  # nor is "more falls or fewer?"
    if measure is not None and measure[0].name != "share":  # "more falls per day this week than last week"
        sets |= {k: v for k, v in _measure_sets(q, *measure).items() if k != "op"}
    return sets, found[0].name


def _measure_sets(q: str, row: P.Phrase, m: re.Match[str]) -> dict[str, Any]:
    sets = dict(row.sets)
    if row.name == "distinct":  # the thing named first after the distinct word: "distinct rules on the porch cam"
        after = q[m.start():]
        found = [(hit.start(), of) for of in P.DISTINCT_OF if (hit := of.search(after))]
        sets["distinct"] = min(found, key=lambda f: f[0])[1].sets["distinct"] if found else "camera"
    return sets


def _measure(q: str, store: _Store, now: datetime, lang: str) -> tuple[dict[str, Any], str] | None:
    """A figure the question asks for (ratio, compare, share, average, distinct), as query fields."""
    found = P.first(P.MEASURES, q)
    if found and found[0].name == "ratio":
        sides = _two_sides(q, found[1].end(), store, now, lang, P.RATIO_SPLIT)
        return ({**found[0].sets, **sides}, found[0].name) if sides else None
    if compared := _compare(q, store, now, lang, found):
        return compared
    if found is None:
        return None
    if found[0].name == "share":
        part = _share_part(q, store, now, lang)
        return ({**found[0].sets, **part}, found[0].name) if part else None
    return _measure_sets(q, *found), found[0].name


def _group(q: str) -> tuple[dict[str, Any], str] | None:
    """A ranking: the key named ("which camera", "per rule", "busiest hour") or implied ("where most")."""
    if found := P.first(P.GROUPS, q):
        key = found[1].group(found[1].lastindex or 1)
        sets: dict[str, Any] = {"op": "group", "group_by": _KEY_ALIAS.get(key, key)}
    elif re.search(P.SUPERLATIVE, q) and (found := P.first(P.GROUP_WORDS, q)):
        sets = dict(found[0].sets)
    else:
        return None
    most, least = re.search(P.MOST, q), re.search(P.LEAST, q)
    sets["order"] = "least" if least and not most else "most"
    sets["stated_order"] = bool(most or least)
    return sets, found[0].name


def _operation(q: str, window: Window | None) -> tuple[dict[str, Any], str] | None:
    """count / list / last / first, from the first row of :data:`~edgekit.assistant.phrases.OPS` found."""
    for row in P.OPS:
        if not (m := row.search(q)):
            continue
        sets = dict(row.sets)
        if row.name == "the last N":
            sets["limit"] = min(number(m.group(1) or m.group(2)), 50)
        elif row.name == "the second to last":
            sets["offset"] = {"second": 1, "third": 2, "fourth": 3, "fifth": 4}.get(m.group(1) or "", 1)
            sets["op"] = "first" if m.group(2) in ("first", "earliest") else "last"
        elif row.name == "last" and window is not None and window.name in ("last", "range") \
                and not re.search(r"\bwhen\b|\bwhat was\b|\bcu[aá]ndo\b|\bwann\b", q):
            continue  # "in the last 3 hours" is the window, not the last event
        return sets, row.name
    return None


def _events(q: str, stated: dict[str, Any], window: Window | None, store: _Store, now: datetime,
            lang: str) -> Reading:
    """The reading of a question about events: a measure, a ranking or an operation, or left to the model."""
    found = _measure(q, store, now, lang) or _group(q) or _operation(q, window)
    for key in ("camera", "label", "rule"):  # a share's part is not also a filter of the whole
        if found and found[0].get("op") == "share" and stated.get(key) == found[0].get(f"other_{key}"):
            stated.pop(key, None)
    query = EventQuery(window=window or Window(), lang=None if lang == "en" else lang,  # type: ignore[arg-type]
                       **{k: v for k, v in stated.items() if k != "window"})
    if found is None:
        known = bool(stated or re.search(_EVENT_WORDS, q) or lang != "en")
        return Reading("events" if known else "open", query=query, stated=stated)
    sets, row = found
    stated_order = sets.pop("stated_order", True)
    query = query.model_validate({**query.model_dump(), **sets})
    stated |= {k: v.model_dump(exclude_none=True) if isinstance(v, Window) else v for k, v in sets.items()
               if k != "order" or stated_order}
    if "other_window" in sets or ("window" in sets and "window" not in stated):
        stated["window"] = query.window.model_dump(exclude_none=True)
    return Reading("events", query=query, op_stated=True, stated=stated, rows=[row])


def read_question(question: str, now: datetime, cameras: list[str], labels: list[str], rules: list[str],
                  boards: list[str] | tuple[str, ...] = ()) -> Reading:
    """Read ``question`` against the names the store really holds (``boards``: the devices of a fleet store)."""
    raw = " ".join(question.lower().split())
    lang = language(raw)
    q = correct(raw, [*cameras, *labels, *rules, *boards], _PATTERN_WORDS if lang == "de" else _PATTERN_WORDS_EN)
    if (refused := _refusal(question, q, lang)) is not None:
        return refused
    store = _Store(cameras, labels, rules, list(boards))
    stated = _stated_names(q, store)
    if isinstance(stated, str):
        return Reading("unanswerable", reason=stated, rows=["unknown name"])
    window = read_window(q, now, lang)
    if window is not None:
        stated["window"] = window.model_dump(exclude_none=True)
    if (stats := _stats(q, stated)) is not None:
        return stats
    if re.fullmatch(P.GREETING, q):
        return Reading("greeting", rows=["greeting"])
    r = _events(q, stated, window, store, now, lang)
    r.rows = [*(["typo"] if q != raw else []), *r.rows]
    return r
