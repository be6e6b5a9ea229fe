"""Answers in the question's language (Spanish, German), written from a result with :mod:`phrasebook`'s templates.

The same results :mod:`edgekit.assistant.answer` writes in English; :func:`event_answer`, :func:`stats_answer` and
:func:`device_answer` mirror its functions one for one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edgekit.assistant.answer import number
from edgekit.assistant.language import decimal
from edgekit.assistant.phrasebook import (
    MEASURE,
    ORDINAL,
    STAT_UNITS,
    cap,
    clock,
    describe_events,
    describe_window,
    phrase,
)
from edgekit.assistant.query import Window


def _track(lang: str, e: dict[str, Any]) -> str:
    return phrase(lang, "track", x=e["track"]) if "track" in e else ""


def _where(lang: str, e: dict[str, Any]) -> str:
    return phrase(lang, "board_of", cam=e["camera"], board=e["board"]) if "board" in e else str(e["camera"])


def _time(e: dict[str, Any], now: datetime) -> datetime:
    return datetime.fromisoformat(e["time"]).replace(tzinfo=now.tzinfo)


def _one(args: dict[str, Any], e: dict[str, Any], window: str, lang: str, now: datetime) -> str:
    op, offset = args["op"], args.get("offset") or 0
    which = phrase(lang, op)
    if offset:
        nth = ORDINAL[lang].get(offset, f"{offset + 1}.")
        which = phrase(lang, "nth_last" if op == "last" else "nth_first", nth=nth)
    span = "" if args["window"]["name"] == "all_time" else f" {window}"
    return phrase(lang, "one", The=phrase(lang, "The"), which=which, what1=describe_events(args, lang, 1), span=span,
                  at=clock(_time(e, now), now, lang, True), where=_where(lang, e), label=e["label"], rule=e["rule"],
                  track=_track(lang, e))


def _list(args: dict[str, Any], r: dict[str, Any], window: str, lang: str, now: datetime) -> str:
    total, shown = r["total"], len(r["events"])
    items = "; ".join(phrase(lang, "item", when=clock(_time(e, now), now, lang, False), label=e["label"],
                             where=_where(lang, e), rule=e["rule"], track=_track(lang, e)) for e in r["events"])
    return phrase(lang, "list", Window=cap(window), n=total, what=describe_events(args, lang, total),
                  shown="" if shown == total else phrase(lang, "shown", shown=shown), items=items)


def _group(args: dict[str, Any], r: dict[str, Any], window: str, lang: str) -> str:
    groups, key = r["groups"], r["group_by"]
    top = groups[0]["count"]
    tied = [str(g["name"]) for g in groups if g["count"] == top]
    leader = phrase(lang, key, x=tied[0]) if len(tied) == 1 else \
        phrase(lang, key + "s", x=f" {phrase(lang, 'and')} ".join(tied)) + phrase(lang, "tied")
    rest = ", ".join(f"{g['name']} {g['count']}" for g in groups)
    had = phrase(lang, "had" if len(tied) == 1 else "had_n")
    return phrase(lang, "group", Leader=cap(leader), had=had, word=phrase(lang, r["order"]),
                  what=describe_events(args, lang), window=window, top=top, key=phrase(lang, f"key_{key}"), rest=rest)


def _figure(f: dict[str, Any], lang: str) -> str:
    """A computed figure with a decimal comma, and its rounding stated."""
    text = decimal(number(f["value"]), lang)
    return f"{text} {MEASURE[lang]['rounded'].format(d=f['digits'])}" if f.get("rounded") else text


def _side(args: dict[str, Any], side: dict[str, Any], w: Window, lang: str, now: datetime) -> str:
    """One side of a compare or ratio in ``lang``: its count, average or distinct count."""
    m, merged, win = MEASURE[lang], {**args, **side["filters"]}, describe_window(w, now, lang)
    if "average" in side.get("average", {}):
        av = side["average"]
        return m["average_side"].format(v=_figure(av["average"], lang), what=describe_events(merged, lang),
                                        per=m["per"][av["per"]][0], w=win)
    if "distinct" in side:
        d = side["distinct"]
        return m["distinct_side"].format(n=d["distinct"], of=m["of"][d["of"]], what=describe_events(merged, lang),
                                         w=win)
    return f"{side['count']} {describe_events(merged, lang, side['count'])} {win}"


def _two_sides(args: dict[str, Any], r: dict[str, Any], lang: str, now: datetime) -> str:
    """A compare or ratio in ``lang``: both figures, and the verdict the question asked for."""
    m = MEASURE[lang]
    wa = Window.model_validate(args["window"])
    wb = Window.model_validate(args["other_window"]) if args.get("other_window") else wa
    a, b = _side(args, r["sides"][0], wa, lang, now), _side(args, r["sides"][1], wb, lang, now)
    if r["op"] == "ratio":
        return m["ratio"].format(r=_figure(r["ratio"], lang), a=a, b=b) if "ratio" in r else \
            m["no_ratio"].format(a=a, b=b)
    verdict = m[r["larger"]]
    asked = args.get("asked")
    if asked is not None:
        yes = {"more": "a", "fewer": "b", "same": "equal"}.get(asked) == r["larger"]
        verdict = f"{m['yes' if yes else 'no']}, {verdict}"
    return f"{cap(verdict)}: {a}, {m['against']} {b}."


def measure_answer(args: dict[str, Any], r: dict[str, Any], lang: str, now: datetime) -> str:
    """:func:`edgekit.assistant.answer.measure_answer` in ``lang``: every figure from ``r``."""
    m, op = MEASURE[lang], r["op"]
    if op in ("compare", "ratio"):
        return _two_sides(args, r, lang, now)
    w = describe_window(Window.model_validate(args["window"]), now, lang)
    if op == "share":
        if "percent" not in r:
            return phrase(lang, "none", Window=cap(w), what=describe_events(args, lang))
        part = {k.removeprefix("other_"): v for k, v in args.items() if k.startswith("other_") and v}
        return m["share"].format(p=_figure(r["percent"], lang), total=r["total"], w=w,
                                 what=describe_events(args, lang, r["total"]), part=r["part"],
                                 part_what=describe_events(part, lang, r["part"]))
    if op == "average":
        if "average" not in r:
            return phrase(lang, "unanswerable")
        per = m["per"][r["per"]]
        return m["average"].format(v=_figure(r["average"], lang), what=describe_events(args, lang), per=per[0],
                                   w=w, total=r["total"], periods=_figure(r["periods"], lang), pers=per[1])
    names = f": {', '.join(r['names'])}" if r["names"] and r["of"] != "track" else ""
    return m["distinct"].format(n=r["distinct"], of=m["of"][r["of"]], what=describe_events(args, lang), w=w,
                                names=names)


def event_answer(args: dict[str, Any], r: dict[str, Any], lang: str, now: datetime) -> str:
    """An event query's result in ``lang`` (``args`` is the query as a dict)."""
    if "op" in r:
        return measure_answer(args, r, lang, now)
    window = describe_window(Window.model_validate(args["window"]), now, lang)
    op = args["op"]
    if op == "count":
        return phrase(lang, "count", Window=cap(window), n=r["count"], what=describe_events(args, lang, r["count"]))
    empty = not r.get("events") if op in ("first", "last", "list") else \
        not r["groups"] or (r["total"] == 0 and r["group_by"] == "hour")
    if empty:
        return phrase(lang, "none", Window=cap(window), what=describe_events(args, lang))
    if op in ("first", "last"):
        return _one(args, r["events"][0], window, lang, now)
    if op == "list":
        return _list(args, r, window, lang, now)
    return _group(args, r, window, lang)


def stats_answer(r: dict[str, Any], lang: str) -> str:
    """Live stats in ``lang`` (figures with a decimal comma)."""
    if not r.get("available"):
        return phrase(lang, "no_stats")
    fld = r["field"]
    stale = phrase(lang, "stale", age=f"{r['age_s']:.0f}") if r.get("stale") else ""
    if fld == "status":
        parts = [phrase(lang, "status", cam=c, status=v["status"]) for c, v in r["cameras"].items()
                 if v["status"] != "ok"]
        ok = [c for c, v in r["cameras"].items() if v["status"] == "ok"]
        if ok:
            parts.append(phrase(lang, "ok", cams=f" {phrase(lang, 'and')} ".join(ok),
                                verb=phrase(lang, "ok1" if len(ok) == 1 else "okn")))
        return cap("; ".join(parts)) + stale + "."
    unit = STAT_UNITS[lang].get(fld, fld)
    parts = [phrase(lang, "no_stat", cam=cam, field=fld) if value is None else
             phrase(lang, "stat", cam=cam, value=decimal(number(value), lang), unit=unit)
             for cam, value in r["cameras"].items()]
    return cap("; ".join(parts)) + stale + "."


def device_answer(r: dict[str, Any], lang: str) -> str:
    """The device's status in ``lang``."""
    fld = r["field"]
    if not r.get("available"):
        return phrase(lang, "no_device")
    if fld == "cpu_temp_c":
        return phrase(lang, "cpu_temp_c", v=decimal(number(r["cpu_temp_c"]), lang))
    if fld == "name":
        return phrase(lang, "name", v=r["name"])
    if fld == "memory":
        return phrase(lang, "memory", free=r["available_mb"], total=r["total_mb"])
    if fld == "load":
        return phrase(lang, "load", v=decimal(r["load_1min"], lang), cores=r["cpu_cores"])
    return phrase(lang, "uptime", v=decimal(r["uptime_hours"], lang))
