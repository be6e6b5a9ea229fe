"""The assistant's evaluation: questions with hand-worked truth over a hand-built event store.

The question set and store live in the repository's ``tests/assistant/eval/`` (written before any tuning; a third
marked ``held_out`` is never tuned on): this harness runs from a checkout, never from the wheel. :func:`evaluate`
answers every question with a real :class:`Assistant` and scores it: the outcome must match, every ``contains``
item must appear in the answer as a whole word, no ``absent`` item may, and an ``unanswerable`` answer may hold no
number.

The blind set (``blind_questions.yaml`` over ``blind_store.yaml``, :func:`evaluate_blind`) was written before its
author read the reader's rules; its expected items are computed from the store (:mod:`benchmarks.lib.eval_truth`).
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

from benchmarks.lib.eval_truth import expected
from edgekit.assistant.agent import Assistant, Transcript
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


_FIGURE = r"(?<![\w.:-])-?\d+(?:\.\d+)?(?![\w]|[:.]\d)"  # a number, not part of a clock time or a name


def _has(text: str, item: str) -> bool:
    if re.fullmatch(r"-?\d+(?:\.\d+)?", item):  # a figure matches by value: 74 is 74.0
        return any(float(n) == float(item) for n in re.findall(_FIGURE, text))
    return re.search(rf"(?<![\w.:-]){re.escape(item.lower())}(?![\w]|[:.]\d)", text.lower()) is not None


def score(q: dict[str, Any], t: Transcript) -> list[str]:
    """Why the answer to ``q`` is wrong (empty: right)."""
    problems = []
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
    return [{"id": q["id"], "split": f"{name}_strict" if strict else name, "q": q["q"],
             **expected(q["truth"], st.events, st.stats, st.now, strict=strict)}
            for q in load_questions(BLIND_SETS[name][0])]


def _run(assistant: Assistant, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for q in questions:
        t0 = time.perf_counter()
        t = assistant.ask(q["q"])
        rows.append({"id": q["id"], "split": q["split"], "question": q["q"], "answer": t.answer,
                     "outcome": t.outcome, "model_calls": t.llm.calls, "problems": score(q, t),
                     "seconds": round(time.perf_counter() - t0, 3)})
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
    st = build_store(folder, BLIND_SETS[name][1])
    store = EventStore(st.events, readonly=True)
    rows = _run(make_assistant(ToolBox(store, st.stats, now=lambda: st.now)), blind_questions(st, name))
    store.close()
    rows += rescore(rows, blind_questions(st, name, strict=True))
    return {"accuracy": accuracy(rows, (name, f"{name}_strict")), "rows": rows}


def rescore(rows: list[dict[str, Any]], questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recorded answers in ``rows`` scored again against ``questions`` (same ids; no question is asked
    again): how a stricter check would have judged the same run."""
    by_id = {r["id"]: r for r in rows}
    out = []
    for q in questions:
        r = by_id[q["id"]]
        t = Transcript(question=q["q"], answer=r["answer"], outcome=r["outcome"])
        out.append({**r, "split": q["split"], "problems": score(q, t)})
    return out
