"""The assistant's evaluation: questions with hand-worked truth over a hand-built event store.

The question set and store live in the repository's ``tests/assistant/eval/`` (written before any tuning; a third
marked ``held_out`` is never tuned on): this harness runs from a checkout, never from the wheel. :func:`evaluate`
answers every question with a real :class:`Assistant` and scores it: the outcome must match, every ``contains``
item must appear in the answer as a whole word, no ``absent`` item may, and an ``unanswerable`` answer may hold no
number.

The blind set (``blind_questions.yaml`` over ``blind_store.yaml``, :func:`evaluate_blind`) was written before its
author read the reader's rules; its expected items are computed from the store (:mod:`benchmarks.lib.eval_truth`).

A **conversation** (an entry with ``turns``) is asked turn by turn through one :class:`ChatSession`, the same
multi-turn call ``edgekit chat``, the dashboard and the MQTT service use, so a follow-up sees the turns before it;
each turn is scored on its own (row id ``<id>#<n>``, n from 1). Every answer is also scored for its **language**:
the expected ``lang`` (English when the truth states none) must be the one :func:`answer_language` finds, a count
of common function words per language that shares nothing with the assistant's own detector. A figure written
with a decimal comma ("6,5") counts as the same figure as "6.5".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from benchmarks.lib.eval_truth import expected_question
from edgekit.assistant.agent import Assistant, ChatSession, Transcript
from edgekit.assistant.grounding import numbers_in
from edgekit.assistant.tools import ToolBox
from edgekit.contract.stats import DaemonStats, write_stats
from edgekit.events import EventStore
from edgekit.types import Event

REPO = Path(__file__).resolve().parents[2]  # benchmarks/lib/ask_eval.py → the checkout
EVAL_DIR = REPO / "tests" / "assistant" / "eval"
#: the blind sets, each over its own store, each frozen before its one held-out run (benchmarks/README.md):
#: ``blind``, ``blind2`` and ``blind3`` were tuned on after theirs; ``blind4`` is the held-out one
BLIND_SETS = {name: (EVAL_DIR / f"{name}_questions.yaml", EVAL_DIR / f"{name}_store.yaml")
              for name in ("blind", "blind2", "blind3", "blind4")}
#: later sets, run only when named (``ask_eval --blind-only --blind-sets blind8``), never by a test or the default
#: run, so that a new one's single first run is a deliberate one; blind5-8 have had theirs (benchmarks/README.md)
UNSCORED_SETS = {name: (EVAL_DIR / f"{name}_questions.yaml", EVAL_DIR / f"{name}_store.yaml")
                 for name in ("blind5", "blind6", "blind7", "blind8")}
ALL_SETS = {**BLIND_SETS, **UNSCORED_SETS}
def _words(text: str) -> set[str]:
    return set(text.split())


#: common function words per language, for :func:`answer_language` (deliberately not the assistant's own lists)
_STOPWORDS = {
    "en": _words("the of and to in is was were are for on with at from by an there no not in total events event "
              "camera had has have than more yesterday today since between which last first"),
    "es": _words("el la los las de del y en que un una por con para no se al lo como más pero fue hubo hay ha "
              "este esta entre desde hoy ayer cámara eventos evento regla ningún todavía"),
    "de": _words("der die das den dem des und in zu mit von auf für ist im nicht ein eine als auch es an aus "
              "nach bei um am sind war gab gibt heute gestern keine kamera ereignisse ereignis regel seit"),
}


@dataclass(frozen=True)
class EvalStore:
    events: Path
    stats: Path
    now: datetime


def build_store(folder: Path, spec: Path | None = None) -> EvalStore:
    """Write the store and stats file of ``store.yaml`` into ``folder``."""
    data = yaml.safe_load((spec or EVAL_DIR / "store.yaml").read_text())
    now = datetime.fromisoformat(data["now"])
    events_path, stats_path = folder / "events.db", folder / "stats.json"
    with EventStore(events_path) as store:
        store.add_many(
            Event(rule=rule, source=cam, label=label, score=0.8, box=(0.0, 0.0, 10.0, 10.0), track_id=track,
                  start_ts=datetime.fromisoformat(ts).timestamp())
            for ts, cam, label, rule, track in data["events"]
        )
    write_stats(stats_path, DaemonStats.model_validate({**data["stats"], "ts": time.time()}))  # as the daemon does
    return EvalStore(events_path, stats_path, now)


def load_questions(path: Path | None = None) -> list[dict[str, Any]]:
    return list(yaml.safe_load((path or EVAL_DIR / "questions.yaml").read_text())["questions"])


# a number (a decimal point or comma), not part of a clock time or a name
_FIGURE = r"(?<![\w.:-])-?\d+(?:[.,]\d+)?(?![\w]|[:.,]\d)"


def _has(text: str, item: str) -> bool:
    if re.fullmatch(r"-?\d+(?:\.\d+)?", item):  # a figure matches by value: 74 is 74.0, 6,5 is 6.5
        return any(float(n.replace(",", ".")) == float(item) for n in re.findall(_FIGURE, text))
    return re.search(rf"(?<![\w.:-]){re.escape(item.lower())}(?![\w]|[:.]\d)", text.lower()) is not None


def answer_language(text: str) -> str:
    """The language with the most common function words in ``text`` ("en" when none has any, or on a tie with
    English: names and figures alone are no sign of another language).

    Examples:
        >>> answer_language("Ayer hubo 2 eventos en la cámara porch."), answer_language("Camera porch: 7.9.")
        ('es', 'en')
    """
    words = re.findall(r"[^\W\d_]+", text.lower())
    hits = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(hits, key=lambda lang: (hits[lang], lang == "en"))
    return best if hits[best] > hits["en"] or best == "en" else "en"


def score(q: dict[str, Any], t: Transcript) -> list[str]:
    """Why the answer to ``q`` is wrong (empty: right)."""
    problems = []
    lang = answer_language(t.answer)
    if lang != q.get("lang", "en"):
        problems.append(f"answer in {lang}, expected {q.get('lang', 'en')}")
    if t.outcome != q["outcome"]:
        problems.append(f"outcome {t.outcome}, expected {q['outcome']}")
    problems += [f"missing {c!r}" for c in q.get("contains", []) if not _has(t.answer, c)]
    problems += [f"has {a!r}" for a in q.get("absent", []) if _has(t.answer, a)]
    if q["outcome"] == "unanswerable" and numbers_in(t.answer):
        problems.append(f"numbers {numbers_in(t.answer)} in an unanswerable answer")
    return problems


def blind_questions(st: EvalStore, name: str = "blind", *, strict: bool = False) -> list[dict[str, Any]]:
    """The blind set ``name`` with its expected items computed from its built store ``st`` (split ``name``, or
    ``<name>_strict`` with the strict check of :func:`benchmarks.lib.eval_truth.expected`)."""
    return truth_questions(load_questions(ALL_SETS[name][0]), st, f"{name}_strict" if strict else name,
                           strict=strict)


def truth_questions(entries: list[dict[str, Any]], st: EvalStore, split: str, *,
                    strict: bool = False) -> list[dict[str, Any]]:
    """Entries with a ``truth`` (or conversations with ``turns``, each with one) and their expected items computed
    from the built store ``st``: a question gets them at its top level, a conversation on each of its turns."""
    out = []
    for q in entries:
        items = expected_question(q, st.events, st.stats, st.now, strict=strict)
        if "turns" in q:
            out.append({"id": q["id"], "split": split,
                        "turns": [{"q": turn["q"], **e} for turn, e in zip(q["turns"], items, strict=True)]})
        else:
            out.append({"id": q["id"], "split": split, "q": q["q"], **items[0]})
    return out


def _row(q: dict[str, Any], qid: str, split: str, t: Transcript, seconds: float) -> dict[str, Any]:
    return {"id": qid, "split": split, "question": q["q"], "answer": t.answer, "outcome": t.outcome,
            "lang": t.lang, "model_calls": t.llm.calls, "problems": score(q, t), "seconds": round(seconds, 3)}


def _run(assistant: Assistant, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per question, and per turn of a conversation (asked in order, in one chat session)."""
    rows = []
    for q in questions:
        if "turns" in q:
            chat = ChatSession(assistant)
            for n, turn in enumerate(q["turns"], 1):
                t0 = time.perf_counter()
                t = chat.ask(turn["q"])
                rows.append({**_row(turn, f"{q['id']}#{n}", q["split"], t, time.perf_counter() - t0),
                             "conversation": q["id"]})
            continue
        t0 = time.perf_counter()
        t = assistant.ask(q["q"])
        rows.append(_row(q, q["id"], q["split"], t, time.perf_counter() - t0))
    return rows


def accuracy(rows: list[dict[str, Any]], splits: tuple[str, ...]) -> dict[str, Any]:
    acc = {}
    for split in splits:
        part = [r for r in rows if r["split"] == split]
        right = sum(1 for r in part if not r["problems"])
        acc[split] = {"right": right, "total": len(part), "accuracy": round(right / len(part), 3) if part else None}
    return acc


def evaluate(make_assistant: Callable[[ToolBox], Assistant], folder: Path,
             questions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Answer every question; per question the answer, outcome, problems and time; accuracy per split."""
    st = build_store(folder)
    store = EventStore(st.events, readonly=True)
    rows = _run(make_assistant(ToolBox(store, st.stats, now=lambda: st.now)), questions or load_questions())
    store.close()
    return {"accuracy": accuracy(rows, ("dev", "held_out")), "rows": rows}


def evaluate_blind(make_assistant: Callable[[ToolBox], Assistant], folder: Path, name: str = "blind"
                   ) -> dict[str, Any]:
    """The blind set ``name`` over its own store, each answer scored by the check it was frozen with (split
    ``name``) and by the strict one (``<name>_strict``): rows and both accuracies."""
    st = build_store(folder, ALL_SETS[name][1])
    store = EventStore(st.events, readonly=True)
    rows = _run(make_assistant(ToolBox(store, st.stats, now=lambda: st.now)), blind_questions(st, name))
    store.close()
    rows += rescore(rows, blind_questions(st, name, strict=True))
    return {"accuracy": accuracy(rows, (name, f"{name}_strict")), "rows": rows}


def evaluate_truth_set(make_assistant: Callable[[ToolBox], Assistant], folder: Path, questions: Path,
                       store: Path | None = None, split: str = "truth") -> dict[str, Any]:
    """A set whose expected items come from truth specs (questions and conversations) over its store (default
    ``store.yaml``): its rows and accuracy per turn (split ``split``)."""
    st = build_store(folder, store)
    reader = EventStore(st.events, readonly=True)
    rows = _run(make_assistant(ToolBox(reader, st.stats, now=lambda: st.now)),
                truth_questions(load_questions(questions), st, split, strict=True))
    reader.close()
    return {"accuracy": accuracy(rows, (split,)), "rows": rows}


def rescore(rows: list[dict[str, Any]], questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recorded answers in ``rows`` scored again against ``questions`` (same ids; no question is asked
    again): how a stricter check would have judged the same run."""
    by_id = {r["id"]: r for r in rows}
    out = []
    for q in questions:
        asked = [(f"{q['id']}#{n}", turn) for n, turn in enumerate(q["turns"], 1)] if "turns" in q else [(q["id"], q)]
        for rid, one in asked:
            r = by_id[rid]
            t = Transcript(question=one["q"], answer=r["answer"], outcome=r["outcome"])
            out.append({**r, "split": q["split"], "problems": score(one, t)})
    return out
