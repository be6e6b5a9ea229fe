"""Follow-up questions: "and yesterday?", "only the porch", "which of them were falls?" carry the last query forward.

A follow-up is recognised by how it starts ("and", "what about", "how about", "same for", "only", "just") or by
pointing back ("which of them", "of those"); Spanish and German reach here already rewritten into those English
words (:mod:`edgekit.assistant.glossary`). Its query is the last event query with every field this question states
put over it, field by field over :class:`~edgekit.assistant.query.EventQuery` (so a field the reader learns later
carries forward too):

- a new **window** replaces the window ("and yesterday?");
- a new **filter** (camera, label, rule, board, track) replaces that filter, since a query holds one value per
  filter: "only the porch" after "how many falls today?" narrows the question to the porch; after a question about
  the garage it asks about the porch instead;
- a stated **operation** replaces the operation; "which of them" lists;
- a question **pointing at the last answer** asks something of it: "which one had the most?" after a distinct count
  ranks what was counted, "and over the whole day?" after a clock range takes the day around it, and "what share of
  yesterday's events is that?" makes the last query's filters the part of a share;
- a question that starts "new question" (or "start over") starts afresh.

After a live-stats question ("what is the porch fps?"), "and the garage?" asks the same figure of the garage, and
"and the dropped frames?" asks another figure of the same camera.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from edgekit.assistant.phrases import STATS_ORDER, first
from edgekit.assistant.query import EventQuery, Window
from edgekit.assistant.reading import Reading

_FRESH = re.compile(r"^\s*(?:new question|start over|start again|forget (?:that|it))\b[\s:,.;!-]*", re.IGNORECASE)
_MARKER = re.compile(r"^\W*(?:(?:now|ok|okay|so|then|right),?\s+)?(?:and|what about|how about|same for|and what about|"
                     r"only|just)\b|"
                     r"^\W*(?:not counting|not including|except(?: for)?|excluding|without|leaving out|but not|minus|"
                     r"apart from|other than|ignoring)\b|"
                     r"\b(?:the )?one (?:before|after) (?:that|it|this)\b|\bthe (?:previous|next) one\b|"
                     r"\b(?:the )?(?:latest|last|newest|most recent|first|earliest|oldest) one\b|"
                     r"\b(?:list|show|name) (?:me )?(?:them|those|these)\b|\bwhat were they\b|"
                     r"\b(?:which|how many|what|any) of (?:them|those|these)\b|\b(?:of|among) (?:them|those|these)\b|"
                     # pointing back at the last answer: "which one had the most?", "what share of ... is that?"
                     r"^\W*which one\b|\b(?:is|are|was|were) (?:that|those|these|they)\W*$",
                     re.IGNORECASE)
_WHICH_OF = re.compile(r"\bwhich of (?:them|those|these)\b", re.IGNORECASE)
#: "which one had the most?" after a distinct count: the things counted, ranked
_WHICH_ONE = re.compile(r"^\W*which (?:one|of (?:them|those|these))\b.*\b(most|least|fewest)\b", re.IGNORECASE)
#: "and over the whole day?" after a clock range: the day around it
_WHOLE_DAY = re.compile(r"\b(?:the )?(?:whole|entire|full) day\b|\ball day\b", re.IGNORECASE)
#: "what share of yesterday's events is that?": the last query is the part of a share
_SHARE_OF_THAT = re.compile(r"\b(?:share|percent(?:age)?|proportion|fraction)\b.*\b(?:is|are|was|were) "
                            r"(?:that|those|these|they)\W*$", re.IGNORECASE)
_ONE_BEFORE = re.compile(r"\b(?:the )?one (?:before|after) (?:that|it|this)\b|\bthe (?:previous|next) one\b",
                         re.IGNORECASE)


class _Call(Protocol):
    tool: str
    args: dict[str, Any]
    result: dict[str, Any] | None


class _Turn(Protocol):
    """What a follow-up reads of an earlier turn (:class:`edgekit.assistant.agent.Transcript`)."""

    reading: dict[str, Any] | None

    @property
    def tool_calls(self) -> Sequence[_Call]: ...


def starts_afresh(question: str) -> tuple[bool, str]:
    """(True, the rest) when the question starts a new conversation ("new question: falls today?").

    Examples:
        >>> starts_afresh("New question: how many falls today?"), starts_afresh("and yesterday?")
        ((True, 'how many falls today?'), (False, 'and yesterday?'))
    """
    m = _FRESH.match(question)
    return (True, question[m.end():].strip()) if m else (False, question)


def is_follow_up(question: str) -> bool:
    """The question continues the one before ("and yesterday?", "only the porch", "which of them were falls?").

    Examples:
        >>> [is_follow_up(q) for q in ("and yesterday?", "only the porch", "how many falls today?")]
        [True, True, False]
    """
    return _MARKER.search(question) is not None


def last_context(history: Sequence[_Turn]) -> EventQuery | None:
    """The newest event query of ``history`` (a comparison's second side is a field of it), or None."""
    for turn in reversed(history):
        calls = [c for c in turn.tool_calls if c.tool == "events" and c.result is not None]
        if calls:
            return EventQuery.model_validate(calls[-1].args)
    return None


def last_stats(history: Sequence[_Turn]) -> dict[str, Any] | None:
    """The arguments of the newest turn's live-stats call, when the newest turn that called a tool asked one."""
    for turn in reversed(history):
        if turn.tool_calls:
            call = turn.tool_calls[-1]
            return call.args if call.tool == "camera_stats" else None
    return None


def _stats_follow_up(question: str, reading: Reading, stats: dict[str, Any]) -> Reading | None:
    """"and the garage?" after a stats question: the same figure of another camera; "and the dropped frames?": another
    figure of the same camera; "and the lowest?" after a ranking: the other end. None when the follow-up names more
    than a camera (it asks about events)."""
    if reading.kind == "stats":
        if "camera" in reading.stated or stats.get("camera") is None:
            return None
        return Reading("stats", stated={**reading.stated, "camera": stats["camera"]}, stats_field=reading.stats_field)
    if reading.kind in ("events", "open") and set(reading.stated) == {"camera"}:
        return Reading("stats", stated=reading.stated, stats_field=stats["field"])
    if reading.kind == "open" and stats.get("order") and (order := first(STATS_ORDER, question)):
        # "and the lowest?" after "which camera has the highest inference time?": the same figure, the other end
        return Reading("stats", stated={"not_camera": stats["not_camera"]} if stats.get("not_camera") else {},
                       stats_field=stats["field"], stats_order=order[0].sets["order"], stats_top=stats.get("top") or 1)
    return None


def carry_forward(question: str, reading: Reading, history: Sequence[_Turn]) -> Reading:
    """``reading`` with the last query's fields under it, when ``question`` is a follow-up; else as it is."""
    if not is_follow_up(question):
        return reading
    stats = last_stats(history)
    if stats is not None:
        return _stats_follow_up(question.lower(), reading, stats) or reading
    last = last_context(history)
    if last is None or reading.kind not in ("events", "open"):
        return reading
    stated = {k for k in reading.stated if k in EventQuery.model_fields}
    if reading.op_stated:
        stated.add("op")
    new, old = reading.query.model_dump(), last.model_dump()
    merged = {k: new[k] if k in stated else old[k] for k in EventQuery.model_fields}
    if _WHICH_OF.search(question):
        merged["op"] = "list"
    elif (m := _ONE_BEFORE.search(question)) and last.op in ("last", "first"):
        # "the one before that" after "the last fall" is one further from the newest; after "the first", one back
        earlier = bool(re.search(r"before|previous", m.group(0), re.IGNORECASE))
        step = 1 if earlier == (last.op == "last") else -1
        merged["op"], merged["offset"] = last.op, max(0, (last.offset or 0) + step)
    _points_back(question, reading, last, merged)
    said = {**reading.stated, "op": merged["op"]}
    return Reading("events", query=EventQuery.model_validate(merged), op_stated=True, stated=said)


def _points_back(question: str, reading: Reading, last: EventQuery, merged: dict[str, Any]) -> None:
    """What a follow-up that points at the last answer asks of it, put on ``merged``: a ranking of what a distinct
    count counted, the whole day around a clock range, or the share the last query's matches are of a new whole."""
    if (m := _WHICH_ONE.search(question)) and last.op == "distinct" and last.distinct is not None:
        merged |= {"op": "group", "group_by": last.distinct, "distinct": None,
                   "order": "most" if m.group(1).lower() == "most" else "least"}
    if _WHOLE_DAY.search(question) and "window" not in reading.stated and last.window.since:
        start = datetime.fromisoformat(last.window.since).replace(hour=0, minute=0)
        merged["window"] = Window(name="range", since=start.isoformat(timespec="minutes"),
                                  until=(start + timedelta(days=1)).isoformat(timespec="minutes")).model_dump()
    if _SHARE_OF_THAT.search(question):
        merged |= {"op": "share", "other_window": None}
        for key in ("camera", "label", "rule"):  # the part: the last query's filters the new whole does not state
            if getattr(last, key) is not None and key not in reading.stated:
                merged |= {key: None, f"other_{key}": getattr(last, key)}
