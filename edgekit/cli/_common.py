"""Helpers shared by CLI commands: JSON output, the console, and option types."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

# Not a terminal (pipes, CI logs): a wide fixed width, so tables are not squeezed into 80 columns.
console = Console(stderr=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout (the machine-readable output of ``--json``)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()
