"""Helpers shared by CLI commands: JSON output, the console, and option types."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

# Not a terminal (pipes, CI logs): a wide fixed width, so tables are not squeezed into 80 columns.
console = Console(stderr=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


# C0 and C1 controls (ESC starts a terminal escape; 0x9b is CSI on 8-bit terminals), DEL, and the bidi overrides
# that make text read differently from what it is. Tab and newline are kept only where asked for.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile(r"[\t\n]")


def untrusted(value: object, newlines: bool = False) -> Text:
    """What a board (or a model) sent, for the terminal: a Rich ``Text``, so ``[red]`` is printed as it is and never
    read as markup, with control characters shown as ``?`` (no escape reaches the terminal). ``newlines`` keeps tab
    and newline (an answer's lines); otherwise they are ``?`` too (a table cell). ``.plain`` is the cleaned string.

    Examples:
        >>> untrusted("[red]x[/red]\\x1b]0;owned\\x07").plain
        '[red]x[/red]?]0;owned?'
        >>> untrusted("a\\nb", newlines=True).plain, untrusted("a\\nb").plain
        ('a\\nb', 'a?b')
    """
    text = _CONTROL.sub("?", str(value))
    return Text(text if newlines else _BREAKS.sub("?", text))


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout (the machine-readable output of ``--json``)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()
