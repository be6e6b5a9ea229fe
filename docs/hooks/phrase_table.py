"""mkdocs hook: the assistant's phrase tables (what the question reader understands), written from
``edgekit.assistant.phrases`` and ``edgekit.assistant.timewords`` on every build.

The tables are the reader's grammar: a phrase added there appears here, with its examples, without anyone writing
it down; ``tests/assistant/test_phrases.py`` reads the same examples.
"""

from __future__ import annotations

from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

from edgekit.assistant import phrases, timewords

PAGE = "reference/assistant-phrases.md"
MARKER = "<!-- phrase-table -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _pattern(text: str, width: int = 160) -> str:
    """A pattern as a code span, cut at ``width`` characters (the source has the rest)."""
    cut = text if len(text) <= width else text[:width] + "…"
    return f"`` {_cell(cut)} ``"


def _sets(sets: dict[str, Any]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in sets.items())


def render() -> str:
    lines = []
    for title, rows in phrases.TABLES.items():
        lines += [f"## {title[0].upper() + title[1:]}", "", "| phrase | sets | examples | pattern |",
                  "|---|---|---|---|"]
        for row in rows:
            examples = "<br>".join(f"“{_cell(e)}”" for e in row.examples)
            lines.append(f"| {row.name} | {_sets(row.sets)} | {examples} | {_pattern(row.pattern)} |")
        lines.append("")
    lines += ["## Time phrases", "", "Tried in this order; the first that reads a window wins. Spanish and German "
              "days that no row reads go to `dateparser` (that whole day).", "",
              "| phrase | examples | pattern |", "|---|---|---|"]
    for trow in timewords.TIME_ROWS:
        examples = "<br>".join(f"“{_cell(e)}”" for e in trow.examples)
        lines.append(f"| {trow.name} | {examples} | {_pattern(trow.pattern)} |")
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown: str, page: Page, **kwargs: Any) -> str:
    """Fill the marker of the phrase page."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise PluginError(f"{PAGE} lost its marker {MARKER}: the phrase tables have nowhere to go")
    return markdown.replace(MARKER, render())
