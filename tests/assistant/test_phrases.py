"""The reader's phrase tables, tested as tables: every example of every row is read as that row says, and the
reader's modules have no function over 60 lines."""

from __future__ import annotations

import ast
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from edgekit.assistant import phrases, reading, timewords, typos
from edgekit.assistant.reading import Reading, language, read_question
from edgekit.assistant.timewords import TIME_ROWS, time_row

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=timezone(timedelta(hours=1)))  # a Tuesday
CAMS, LABELS, RULES = ["garage", "porch", "garden"], ["Fall", "Normal"], ["night_visitor", "fall_alert"]

ROWS = [(table, row, example) for table, rows in phrases.TABLES.items() for row in rows for example in row.examples]


def _got(r: Reading, key: str, example: str) -> Any:
    if key in ("reason", "stats_field"):
        return getattr(r, key)
    if key == "lang":
        return language(" ".join(example.lower().split()))
    if key == "order" and r.kind == "stats":
        return r.stats_order
    return getattr(r.query, key)


@pytest.mark.parametrize(("table", "row", "example"), ROWS,
                         ids=[f"{t}:{row.name}:{ex}" for t, row, ex in ROWS])
def test_every_example_is_read_as_its_row_says(table: str, row: phrases.Phrase, example: str) -> None:
    r = read_question(example, NOW, CAMS, LABELS, RULES)
    got = {key: _got(r, key, example) for key in row.sets}
    assert got == row.sets, (r.kind, r.rows, r.stated)


@pytest.mark.parametrize(("row", "example"), [(row, ex) for row in TIME_ROWS for ex in row.examples],
                         ids=[f"{row.name}:{ex}" for row in TIME_ROWS for ex in row.examples])
def test_every_time_example_is_read_by_its_row(row: timewords.TimeRow, example: str) -> None:
    assert time_row(example, NOW) == row.name


@pytest.mark.parametrize("module", [reading, timewords, phrases, typos])
def test_no_function_over_60_lines(module: Any) -> None:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    long = [(f.name, (f.end_lineno or f.lineno) - f.lineno + 1) for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) and (f.end_lineno or f.lineno) - f.lineno >= 60]
    assert not long


@pytest.mark.parametrize(("typed", "read"), [
    ("how mny falls todya", "how many falls today"),
    ("any evnts on the garge camera yesterdy", "any events on the garage camera yesterday"),
    ("what fails were there", "what fails were there"),   # a real word one letter from a keyword stays
    ("that was it", "that was it"),
    # short slips of a question or window word; "wen" is a slip of "when" in English (German "whom" only in German)
    ("wen did the garage see the last fal", "when did the garage see the last fall"),
    ("hw many evnts ths week", "how many events this week"),
])
def test_typos(typed: str, read: str) -> None:
    assert typos.correct(typed, CAMS) == read
