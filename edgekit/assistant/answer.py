"""Answers written by code from a tool result: every number, name and time in them comes from the result.

Why templates and not the model: a 135M model restates numbers well but replaces them often enough to matter
(a count of 17 instead of 7, a stage time given as fps), and a question can carry a number meant to be
repeated ("the real number is 100"). Code cannot be talked into either.
"""

from __future__ import annotations

from typing import Any

UNANSWERABLE = "I can't tell that from the events"
EMPTY_STORE = "No events have been recorded yet: the event store is empty, so there is nothing to report."
FRESH = "OK: a new question. What would you like to know about the events?"
GREETING = ("Hello. Ask me about the camera events (\"how many falls today?\", \"when was the last fall?\", "
            "\"which camera was busiest yesterday?\") or the cameras' live stats (\"what is the garage fps?\").")

_UNIT = {"process_fps": "frames/s processed", "capture_fps": "frames/s captured", "dropped": "frames dropped",
         "infer_ms": "ms inference per frame", "pre_ms": "ms pre-processing per frame",
         "post_ms": "ms post-processing per frame", "reconnects": "reconnects", "captured": "frames captured",
         "processed": "frames processed"}


def number(v: Any) -> str:
    """A figure as people write it: 74.0 → "74", 3.10 → "3.1" (the value itself, never rounded away)."""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.6g}" if abs(v) < 1e6 else str(round(v))
    return str(v)


def unanswerable(reason: str | None) -> str:
    return f"{UNANSWERABLE}: {reason}." if reason else f"{UNANSWERABLE}."


def _what(args: dict[str, Any], n: int | None = None) -> str:
    """ "Fall events on camera garage from rule fall_alert" (plural unless ``n`` is 1)."""
    noun = "event" if n == 1 else "events"
    text = f"{args['label']} {noun}" if args.get("label") else noun
    if args.get("camera"):
        text += f" on camera {args['camera']}"
    if args.get("board"):
        text += f" on board {args['board']}"
    if args.get("rule"):
        text += f" from rule {args['rule']}"
    if args.get("track") is not None:
        text += f" of track {args['track']}"
    for key, word in (("not_camera", "camera"), ("not_label", "label"), ("not_rule", "rule")):
        if args.get(key):
            names = " or ".join(args[key])
            text += f" not {'on' if word == 'camera' else 'of' if word == 'label' else 'from'} {word} {names}"
    return text


describe_events = _what


def _where(e: dict[str, Any]) -> str:
    """ "gate", or "gate of board dock-1" when the result names boards (a fleet's events)."""
    return f"{e['camera']} of board {e['board']}" if "board" in e else e["camera"]


def _event(e: dict[str, Any]) -> str:
    track = f", track {e['track']}" if "track" in e else ""
    return f"{e['when']} {e['label']} on {_where(e)} ({e['rule']}{track})"


def figure(f: dict[str, Any], unit: str = "") -> str:
    """A computed figure, with its rounding stated: "2.33 (rounded to 2 decimals)"."""
    text = f"{number(f['value'])}{unit}"
    return f"{text} (rounded to {f['digits']} decimals)" if f.get("rounded") else text


def _side(args: dict[str, Any], side: dict[str, Any]) -> str:
    """One side of a compare or ratio: its count, or its average or distinct count."""
    what = _what({**args, **side["filters"]}, side["count"])
    if "average" in side and "average" in side["average"]:
        av = side["average"]
        return f"{figure(av['average'])} {_what({**args, **side['filters']})} per {av['per']} {side['window']}"
    if "distinct" in side:
        d = side["distinct"]
        return f"{d['distinct']} different {d['of']}s with {_what({**args, **side['filters']})} {side['window']}"
    return f"{side['count']} {what} {side['window']}"


def measure_answer(args: dict[str, Any], r: dict[str, Any]) -> str:
    """Words for a compare, ratio, share, average or distinct result: every figure from ``r``."""
    op = r["op"]
    if op in ("compare", "ratio"):
        a, b = (_side(args, s) for s in r["sides"])
        if op == "ratio":
            if "ratio" not in r:
                return f"No ratio: {b}, so there is nothing to divide by ({a})."
            return f"The ratio is {figure(r['ratio'])}: {a} against {b}."
        more = {"a": "more", "b": "fewer", "equal": "the same number (equal)"}[r["larger"]]
        asked = args.get("asked")
        yes = {"more": "a", "fewer": "b", "same": "equal"}.get(asked or "") == r["larger"]
        head = more[0].upper() + more[1:] if asked is None else f"{'Yes' if yes else 'No'}, {more}"
        return f"{head}: {a}, against {b}."
    if op == "share":
        if "percent" not in r:
            return f"There were no {_what(args)} {r['window']}, so there is no share to give."
        part_names = {k.removeprefix("other_"): v for k, v in args.items() if k.startswith("other_") and v
                      and k != "other_window"}
        part = " ".join(w for w in (_what(part_names, r["part"]) if part_names or not r.get("part_window") else "",
                                    r.get("part_window", "")) if w)
        return (f"{figure(r['percent'], ' %')} of {r['total']} {_what(args, r['total'])} {r['window']}: "
                f"{r['part']} were {part}.")
    if op == "average":
        if "average" not in r:
            return unanswerable(r.get("reason") or "the window has no length")
        return (f"On average {figure(r['average'])} {_what(args)} per {r['per']} {r['window']} "
                f"({r['total']} over {figure(r['periods'])} {r['per']}s).")
    names = f": {', '.join(r['names'])}" if r["names"] and r["of"] != "track" else ""
    return f"{r['distinct']} different {r['of']}s had {_what(args)} {r['window']}{names}."


def event_answer(args: dict[str, Any], r: dict[str, Any]) -> str:
    """Words for an event query's result (``args`` is the query as a dict)."""
    if "op" in r:
        return measure_answer(args, r)
    window, total, op = r["window"], r["total"], args["op"]
    if op == "count":
        return f"{r['count']} {_what(args, r['count'])} {window}."
    if op in ("first", "last"):
        if not r["events"]:
            return f"There were no {_what(args)} {window}."
        e = r["events"][0]
        which = "first" if op == "first" else "last"
        if args.get("offset"):
            nth = {1: "second", 2: "third", 3: "fourth", 4: "fifth"}.get(args["offset"], f"{args['offset'] + 1}th")
            which = f"{nth}-{'to-last' if op == 'last' else 'earliest'}"
        span = "" if window == "in total" else f" {window}"
        track = f", track {e['track']}" if "track" in e else ""
        return (f"The {which} {_what(args, 1)}{span} was at {e['when']} on camera {_where(e)}: "
                f"{e['label']} (rule {e['rule']}{track}).")
    if op == "list":
        if not r["events"]:
            return f"There were no {_what(args)} {window}."
        shown = len(r["events"])
        head = f"{total} {_what(args, total)} {window}"
        head += ":" if shown == total else f", the {shown} newest:"
        return head + " " + "; ".join(_event(e) for e in r["events"]) + "."
    groups = r["groups"]
    key = "hour" if r["group_by"] == "hour" else r["group_by"]
    if not groups or (total == 0 and key == "hour"):
        return f"There were no {_what(args)} {window}."
    top = groups[0]["count"]
    tied = [g["name"] for g in groups if g["count"] == top]
    word = "most" if r["order"] == "most" else "fewest"
    rest = ", ".join(f"{g['name']} {g['count']}" for g in groups)
    label = (f"the hour from {tied[0]}" if key == "hour" else f"{key} {tied[0]}") if len(tied) == 1 else \
        f"{key}s {' and '.join(tied)} (tied)"
    return f"{label[0].upper() + label[1:]} had the {word} {_what(args)} {window} ({top}). By {key}: {rest}."


def stats_answer(r: dict[str, Any]) -> str:
    if not r.get("available"):
        return f"Live stats are not available: {r['reason']}."
    fld = r["field"]
    stale = f" (stats are {r['age_s']:.0f} s old: the daemon may have stopped)" if r.get("stale") else ""
    if fld == "status":
        down = {c: v for c, v in r["cameras"].items() if v["status"] != "ok"}
        ok = [c for c, v in r["cameras"].items() if v["status"] == "ok"]
        parts = [f"camera {c} is {v['status']}" + (f" ({v['last_error']})" if v.get("last_error") else "")
                 for c, v in down.items()]
        if ok:
            parts.append(f"{' and '.join(ok)} {'is' if len(ok) == 1 else 'are'} ok")
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + stale + "."
    if r.get("ranked"):
        return _ranked(r) + stale + "."
    parts = []
    for cam, value in r["cameras"].items():
        if value is None:
            parts.append(f"camera {cam}: {fld} is not available")
        else:
            parts.append(f"camera {cam}: {number(value)} {_UNIT.get(fld, fld)}")
    return ("; ".join(parts) or "no cameras report live stats").capitalize() + stale + "."


def _ranked(r: dict[str, Any]) -> str:
    """ "Camera porch has the lowest frames/s processed: 3.2 (of: porch 3.2, garden 7)"."""
    unit = _UNIT.get(r["field"], r["field"])
    top = r["ranked"]
    every = ", ".join(f"{c} {number(v)}" for c, v in r["cameras"].items() if v is not None)
    tied = " (tied with the next)" if r.get("tied") else ""
    if len(top) == 1:
        return f"Camera {top[0]['camera']} has the {r['order']} {unit}: {number(top[0]['value'])}{tied} (all: {every})"
    names = ", ".join(f"{t['camera']} {number(t['value'])}" for t in top)
    return f"The {len(top)} cameras with the {r['order']} {unit}: {names}{tied} (all: {every})"


def device_answer(r: dict[str, Any]) -> str:
    fld = r["field"]
    if not r.get("available"):
        return f"The CPU temperature is not available: {r['reason']}." if fld == "cpu_temp_c" else \
            f"Not available: {r['reason']}."
    if fld == "cpu_temp_c":
        return f"The CPU temperature is {number(r['cpu_temp_c'])} °C."
    if fld == "name":
        return f"This device is {r['name']}."
    if fld == "memory":
        daemon = f"The daemon uses {r['daemon_rss_mb']:g} MB of memory (RSS); " if r.get("daemon_rss_mb") else \
            "The daemon's memory use is not available (no live stats); "
        return daemon + f"the device has {r['available_mb']} MB of {r['total_mb']} MB free."
    if fld == "load":
        return f"The 1-minute load average is {r['load_1min']} on {r['cpu_cores']} cores."
    return f"The device has been up for {r['uptime_hours']} hours."
