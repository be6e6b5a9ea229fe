"""``edgekit ask``, ``edgekit chat`` and ``edgekit bench llm``: the local assistant from the terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from edgekit.cli._common import err_console, print_json, untrusted, write_json
from edgekit.errors import EdgekitError

MODEL_HELP = "GGUF model card name, card YAML or .gguf file (default: smollm2-135m-instruct)."
PROFILE_HELP = "Device profile (threads, context, LLM memory budget); default: no budget, all cores."
HUB_HELP = ("Answer over the fleet's central store instead of this board's: the hub's YAML (its database.dsn) or a "
            "postgresql:// DSN.")

# The options `ask` and `chat` share, declared once.
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help=MODEL_HELP)]
ProfileOpt = Annotated[str | None, typer.Option("--profile", "-p", help=PROFILE_HELP)]
EventsOpt = Annotated[Path | None, typer.Option("--events", help="Event store (default: the daemon's events.db).")]
HubOpt = Annotated[str | None, typer.Option("--hub", help=HUB_HELP)]
StatsOpt = Annotated[Path | None, typer.Option("--stats", help="Live stats file (default: the daemon's stats.json).")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", min=1, help="Override the profile's LLM threads.")]
CtxOpt = Annotated[int | None, typer.Option("--ctx", min=256, help="Override the profile's context size.")]


def _hub_store(hub: str | None, events: Path | None) -> Any:
    """The fleet's events (``--hub``), or None for the board's own store."""
    if hub is None:
        return None
    if events is not None:
        raise EdgekitError("give --events (this board's store) or --hub (the fleet's), not both")
    from edgekit.hub.fleet import FleetEvents, hub_dsn

    return FleetEvents(hub_dsn(hub))


def _write(piece: str) -> None:
    # an answer holds names and labels the boards sent (with --hub, any board): no control character gets through
    sys.stdout.write(untrusted(piece, newlines=True).plain)
    sys.stdout.flush()


def _print_tools(t: Any) -> None:
    """Each tool call of transcript ``t`` and what it gave, dimmed on stderr (as text: results hold board data)."""
    for call in t.tool_calls:
        err_console.print(untrusted(f"tool ({call.chosen_by}): {call.tool}({call.args}) -> "
                                    f"{call.result if call.error is None else call.error}"), style="dim")


def ask(
    question: str = typer.Argument(..., help="The question, e.g. 'how many falls were there today?'"),
    model: ModelOpt = None,
    profile: ProfileOpt = None,
    events: EventsOpt = None,
    hub: HubOpt = None,
    stats: StatsOpt = None,
    threads: ThreadsOpt = None,
    ctx: CtxOpt = None,
    batch: int | None = typer.Option(None, "--batch", min=8, help="Override the profile's batch size."),
    json_out: bool = typer.Option(False, "--json", help="Print the transcript (tool calls, results) as JSON."),
) -> None:
    """Answer one question from the event store and live stats; the answer streams as it is generated."""
    from edgekit.assistant.agent import check_question
    from edgekit.assistant.loader import open_assistant

    check_question(question)  # empty or too long: one line before any model is loaded
    store = _hub_store(hub, events)
    try:
        # lazy: the model is loaded only when the question leaves the operation open (most are read by code alone)
        assistant, loaded = open_assistant(model, profile, events, stats, threads=threads, n_ctx=ctx, n_batch=batch,
                                           store=store, lazy=True)
        try:
            t = assistant.ask(question, on_token=None if json_out else _write)
            model_loaded = loaded.loaded
        finally:
            loaded.close()
    finally:
        if store is not None:
            store.close()
    if json_out:
        call = t.tool_calls[-1] if t.tool_calls else None
        print_json({"model": str(loaded.path), "model_loaded": model_loaded, "fit": loaded.fit.summary(),
                    "query": None if call is None else {"tool": call.tool, **call.args},
                    "result": None if call is None else call.result, **t.to_dict()})
    else:
        _write("\n")
        _print_tools(t)


def chat(
    model: ModelOpt = None,
    profile: ProfileOpt = None,
    events: EventsOpt = None,
    hub: HubOpt = None,
    stats: StatsOpt = None,
    threads: ThreadsOpt = None,
    ctx: CtxOpt = None,
    show_tools: bool = typer.Option(False, "--show-tools", help="Print each tool call and its result."),
) -> None:
    """An interactive conversation: a follow-up ("and yesterday?", "only the porch", "which of them were falls?")
    carries the last question's filters forward; "new question" starts afresh; an empty line, 'exit' or Ctrl-D
    ends it."""
    from edgekit.assistant.agent import ChatSession
    from edgekit.assistant.loader import open_assistant

    assistant, loaded = open_assistant(model, profile, events, stats, threads=threads, n_ctx=ctx,
                                       store=_hub_store(hub, events), lazy=True)
    session = ChatSession(assistant)
    err_console.print(f"[dim]{loaded.fit.summary()}[/]")
    try:
        while True:
            try:
                q = input("> ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if q in ("", "exit", "quit"):
                break
            try:
                t = session.ask(q, on_token=_write)
            except EdgekitError as e:  # a bad question (too long, an unknown script): one line, the chat goes on
                err_console.print(untrusted(f"error: {e}"))
                continue
            _write("\n")
            if show_tools:
                _print_tools(t)
    finally:
        loaded.close()


def bench_llm(
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    profile: str = typer.Option("desktop", "--profile", "-p", help="Device profile (threads, ctx, bandwidth)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="Override the profile's LLM threads."),
    prompt_tokens: int = typer.Option(256, "--prompt-tokens", min=8, help="Prompt length of the timed runs."),
    gen_tokens: int = typer.Option(64, "--gen-tokens", min=2, help="Tokens generated per timed run."),
    runs: int = typer.Option(3, "--runs", min=1, help="Timed runs per variant (after one warm-up)."),
    concurrent: bool = typer.Option(True, "--concurrent/--no-concurrent", help="Also time detection beside it."),
    seconds: float = typer.Option(15.0, "--seconds", min=2.0, help="Length of each concurrent phase."),
    out: Path | None = typer.Option(None, "--out", help="Also write the JSON result to this file."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a summary."),
) -> None:
    """Assistant vs raw llama-cpp-python: TTFT, prompt/generation tokens/s, peak RSS; decode prediction; FPS beside it.

    Both variants run the same GGUF, threads and prompt in separate processes; the concurrent part times the
    default detector alone and while the assistant generates.
    """
    from edgekit.bench.llm import run_llm_bench, summary_lines

    result: dict[str, Any] = run_llm_bench(
        model,
        profile,
        threads=threads,
        prompt_tokens=prompt_tokens,
        gen_tokens=gen_tokens,
        runs=runs,
        concurrent=concurrent,
        seconds=seconds,
    )
    if out:
        write_json(out, result)
    if json_out:
        print_json(result)
    else:
        for line in summary_lines(result):
            _write(line + "\n")


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("chat")(chat)


def register_bench(bench_app: typer.Typer) -> None:
    """Called by the ``bench`` group to add ``bench llm``."""
    bench_app.command("llm")(bench_llm)
