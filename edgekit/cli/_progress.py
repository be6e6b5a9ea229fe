"""Rich progress for long commands (export, bundle, deploy, image), on stderr, only on a terminal.

``with progress(enabled=not as_json) as step:`` yields a step callback for the block:

- ``step("build the edgekit wheel")``: a new step with a spinner and its elapsed time; the previous open step of the
  same ``key`` (default: one for the command) is marked done;
- ``step("validate fp32 source", done, total)``: a bar for that label (calibration images, validation images, files).

Off a terminal (pipes, CI logs, the journal) or with ``--json`` the callback does nothing, so logs keep only the
command's own lines and ``--json`` output stays pure JSON on stdout.

Examples:
    >>> with progress(enabled=False) as step:
    ...     step("resolve the board's wheels")
    ...     step("copy files", 3, 10)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from edgekit.cli._common import err_console


class Step(Protocol):
    """The callback :func:`progress` yields."""

    def __call__(self, label: str, done: int | None = None, total: int | None = None, *, key: str = "") -> None: ...


def quiet_step(label: str, done: int | None = None, total: int | None = None, *, key: str = "") -> None:
    """The step callback off a terminal: nothing is shown."""


class _Steps:
    """Tasks of one Rich progress: open (spinner) steps by key, bars by label."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.open: dict[str, TaskID] = {}
        self.bars: dict[str, TaskID] = {}

    def __call__(self, label: str, done: int | None = None, total: int | None = None, *, key: str = "") -> None:
        if total is None:
            self.finish(key)
            self.open[key] = self.bar.add_task(label, total=None)
            return
        if label not in self.bars:
            self.bars[label] = self.bar.add_task(label, total=max(total, 1))
        self.bar.update(self.bars[label], completed=done or 0, total=max(total, 1))

    def finish(self, key: str | None = None) -> None:
        """Mark the open step of ``key`` (None: every open step) done."""
        for k in [k for k in self.open if key is None or k == key]:
            self.bar.update(self.open.pop(k), total=1, completed=1)


@contextmanager
def progress(enabled: bool = True, console: Console = err_console) -> Iterator[Step]:
    """Yield a step callback that draws on ``console`` while the block runs (see the module's docstring)."""
    if not (enabled and console.is_terminal):
        yield quiet_step
        return
    bar = Progress(SpinnerColumn(finished_text="✓"), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False)
    steps = _Steps(bar)
    with bar:
        yield steps
        steps.finish()  # only on success: a failed step keeps its spinner stopped where it failed
