"""``edgekit`` entry point: one Typer app, command groups registered from their own modules.

Errors a user can fix (``EdgekitError``) print one line and exit 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer

from edgekit.errors import EdgekitError

app = typer.Typer(
    name="edgekit",
    help="Edge-first toolkit for embedded vision and local LLMs. Add --debug anywhere for full tracebacks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module exposes register(app). Optional groups (daemon, export, assistant) are skipped while absent.
COMMANDS = [
    "edgekit.cli.devices",
    "edgekit.cli.detect",
    "edgekit.cli.bench",
    "edgekit.cli.tune",
    "edgekit.cli.export",
    "edgekit.cli.run",
    "edgekit.cli.config",
    "edgekit.cli.service",
    "edgekit.cli.ask",
    "edgekit.cli.bundle",
    "edgekit.cli.deploy",
    "edgekit.cli.image",
    "edgekit.cli.hub",
    "edgekit.cli.fleet",
]


#: commands whose module registers them on its own: only that module is imported, so a one-shot `edgekit ask`
#: beside the camera daemon does not pay for importing the vision stack (~0.5 CPU-s on a 2-core board)
SOLO_COMMANDS = {"ask": "edgekit.cli.ask", "chat": "edgekit.cli.ask"}


def _command(args: list[str]) -> str | None:
    """The command word of ``args`` (after the root options), or None."""
    for a in args:
        if a in ("--verbose", "-v"):
            continue
        return None if a.startswith("-") else a
    return None


def _register(only: str | None = None) -> None:
    for name in [only] if only else COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        module.register(app)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level."),
) -> None:
    """Edge-first toolkit for embedded vision and local LLMs."""
    logging.basicConfig(
        level=logging.DEBUG
        if os.environ.get("EDGEKIT_DEBUG")
        else logging.INFO
        if verbose
        else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def fail(message: str, code: int = 2) -> None:
    """Print ``error: message`` on one line to stderr and exit with ``code``."""
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or bool(os.environ.get("EDGEKIT_DEBUG"))
    args = [a for a in args if a != "--debug"]
    if debug:
        os.environ["EDGEKIT_DEBUG"] = "1"
    _register(SOLO_COMMANDS.get(_command(args) or ""))
    try:
        # Typer reports usage errors itself (exit 2); errors from the commands come out here.
        app(args=args, prog_name="edgekit")
    except EdgekitError as e:
        if debug:
            raise
        fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as e:
        if debug:
            raise
        fail(f"unexpected {type(e).__name__}: {e} (rerun with --debug for the traceback)", 1)


if __name__ == "__main__":
    main()
