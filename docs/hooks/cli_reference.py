"""mkdocs hook: the CLI reference, written from the Typer app (``edgekit.cli.main:app``) on every build.

It walks the Click command tree Typer builds (``typer.main.get_command``) and fills the marker on
``reference/cli.md`` with each command's usage, help, arguments and options, so a new command or option appears in
the docs without anyone writing it down. Typer ≥ 0.29 builds on its own copy of Click, so the tree is walked by what
its objects do (``list_commands``, ``get_help_record``), not by Click's classes.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

from edgekit.cli import main

PAGE = "reference/cli.md"
MARKER = "<!-- cli-reference -->"


def edgekit_command() -> Any:
    """The ``edgekit`` Click group with every command module registered (as ``edgekit.cli.main.main`` does)."""
    # Registering twice would list every command twice (mkdocs serve rebuilds in one process).
    if not main.app.registered_commands and not main.app.registered_groups:
        for name in main.COMMANDS:
            importlib.import_module(name).register(main.app)
    group = typer.main.get_command(main.app)
    if not hasattr(group, "list_commands"):
        raise PluginError("edgekit.cli.main:app has no subcommands: the CLI reference would be empty")
    return group


def _context(cmd: Any, name: str, parent: Any = None) -> Any:
    return cmd.context_class(cmd, info_name=name, parent=parent)


def _cell(text: str | None) -> str:
    """``text`` as one markdown table cell."""
    return " ".join((text or "").split()).replace("|", "\\|")


def _params(cmd: Any, ctx: Any) -> list[str]:
    rows = []
    for p in cmd.get_params(ctx):
        if getattr(p, "hidden", False) or p.name == "help":
            continue
        record = p.get_help_record(ctx)  # what `--help` prints: names, metavar, help and default
        names, help_text = record if record else (", ".join(p.opts), "")
        rows.append(f"| `{_cell(names)}` | {_cell(help_text)} |")
    return ["| argument / option | what it does |", "|---|---|", *rows] if rows else []


def _command(cmd: Any, ctx: Any, level: int, recurse: bool = True) -> list[str]:
    path = ctx.command_path
    lines = [f"{'#' * level} {path} {{#{path.replace(' ', '-')}}}", ""]
    lines += ["```text", ctx.get_usage(), "```", ""]
    if cmd.help:
        lines += [cmd.help.split("\f")[0].strip(), ""]  # Click hides what follows a form feed
    table = _params(cmd, ctx)
    lines += [*table, ""] if table else []
    if recurse and hasattr(cmd, "list_commands"):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                lines += _command(sub, _context(sub, name, ctx), min(level + 1, 6))
    return lines


def render() -> str:
    """Markdown for every command of the ``edgekit`` app, top-level commands in the order of ``edgekit --help``."""
    root = edgekit_command()
    ctx = _context(root, "edgekit")
    commands = [(n, c) for n in root.list_commands(ctx) if (c := root.get_command(ctx, n)) and not c.hidden]
    lines = ["| command | what it does |", "|---|---|"]
    lines += [f"| [`edgekit {n}`](#edgekit-{n}) | {_cell(c.get_short_help_str(120))} |" for n, c in commands]
    lines += ["", *_command(root, ctx, 2, recurse=False)]
    for name, cmd in commands:
        lines += _command(cmd, _context(cmd, name, ctx), 2)
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Page, **kwargs: Any) -> str:
    """Fill the marker of the CLI reference page."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise PluginError(f"{PAGE} lost its marker {MARKER}: the CLI reference has nowhere to go")
    return markdown.replace(MARKER, render())
