"""The fixed prompts: one conversation that turns a question into a tool call, one that turns facts into an
answer. Both are fixed text plus worked examples (as chat turns, which a 135M model follows far better than
instructions), so their KV state is computed once and kept (see ``LlamaEngine.keep_prefix``)."""

from __future__ import annotations

import json
from typing import Any

from edgekit.assistant.tools import TOOLS

EXAMPLE_CONTEXT = "Labels: Fall, Normal. Cameras: cam1, cam2."

_TOOL_LINES = "\n".join(f"- {t.name}: {t.summary}" for t in TOOLS.values())
TOOL_SYSTEM = (
    "You turn a question about an edge camera device into exactly one tool call, written as JSON.\n"
    f"Tools:\n{_TOOL_LINES}\n"
    "Use only labels and cameras from the list given with the question; null means any."
)


def _call(tool: str, **args: Any) -> str:
    return json.dumps({"tool": tool, "args": args})


TOOL_EXAMPLES: list[tuple[str, str]] = [
    ("how many people fell today?", _call("count_events", label="Fall", camera=None, window="today")),
    (
        "what happened on cam2 in the last hour?",
        _call("list_events", label=None, camera="cam2", window="last_hour", limit=5),
    ),
    ("show me the last 3 events", _call("last_events", n=3)),
    ("how many events did cam1 have yesterday?", _call("count_events", label=None, camera="cam1", window="yesterday")),
    ("why is camera cam1 so slow?", _call("camera_stats", camera="cam1")),
    (
        "which falls were there this week?",
        _call("list_events", label="Fall", camera=None, window="last_7_days", limit=5),
    ),
    ("how hot is the device and how much memory is free?", _call("device_status")),
    (
        "how many upright people were seen in total?",
        _call("count_events", label="Normal", camera=None, window="all_time"),
    ),
    ("hello!", _call("none")),
]

ANSWER_SYSTEM = (
    "You answer questions about an edge camera device in one or two short sentences, using only the facts "
    "given with the question. Copy every number exactly as it appears in the facts. If the facts do not answer "
    "the question, say so."
)

#: One worked example per tool, shown right before the question (after the cached system prompt): with all of
#: them in the prefix a 135M model copies whichever came last.
ANSWER_EXAMPLES: dict[str, tuple[str, str]] = {
    "count_events": (
        "Facts: count_events(label=Fall, camera=all, window=today) -> count=4\nQuestion: how many people fell today?",
        "There were 4 falls today.",
    ),
    "last_events": (
        "Facts: last_events(n=2) -> shown=2, events: (time=2025-03-02 10:14:05, label=Fall, camera=cam1, "
        "rule=fall, score=0.81; time=2025-03-02 10:01:44, label=Normal, camera=cam2, rule=person, score=0.66)\n"
        "Question: what were the last 2 events?",
        "A Fall at cam1 at 2025-03-02 10:14:05, and before it a Normal at cam2 at 2025-03-02 10:01:44.",
    ),
    "list_events": (
        "Facts: list_events(label=any, camera=cam2, window=today, limit=5) -> total=1, shown=1, events: ("
        "time=2025-03-02 09:12:40, label=Normal, camera=cam2, rule=person, score=0.74)\n"
        "Question: what happened at cam2 today?",
        "Camera cam2 saw one event today: a Normal (upright person) at 2025-03-02 09:12:40.",
    ),
    "camera_stats": (
        "Facts: camera_stats(camera=cam1) -> available=True, age_s=2.1, stale=False, cameras: (cam1: ("
        "capture_fps=30.0, process_fps=6.2, dropped=310, stage_ms: (pre=4.0, infer=151.0, post=1.5)))\n"
        "Question: why is camera cam1 so slow?",
        "Camera cam1 processes 6.2 of its 30.0 frames per second and has dropped 310 frames; inference takes "
        "151.0 ms per frame, which is the bottleneck.",
    ),
    "device_status": (
        "Facts: device_status() -> profile=rpi5, cpu_cores=4, cpu_percent=35.0, load_1min=1.2, "
        "memory_total_mb=8000, memory_available_mb=5100, uptime_hours=50.2, temperatures_c: (cpu_thermal=61.5)\n"
        "Question: how much memory is free?",
        "5100 MB of the 8000 MB of memory are free.",
    ),
}


def chat_turns(examples: list[tuple[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for q, a in examples:
        out += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return out


def tool_question(question: str, labels: list[str], cameras: list[str]) -> str:
    """The user turn of the tool-call conversation."""
    return f"Labels: {', '.join(labels) or 'none'}. Cameras: {', '.join(cameras) or 'none'}.\nQuestion: {question}"


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: ({_fmt(v)})" if isinstance(v, (dict, list)) else f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_fmt(x) for x in value) or "none"
    return str(value)


def facts(tool: str, args: dict[str, Any], result: dict[str, Any]) -> str:
    """A tool call and its result as one compact line of ``key=value`` facts."""
    shown = ", ".join(
        f"{k}={'all' if v is None and k == 'camera' else 'any' if v is None else v}" for k, v in args.items()
    )
    body = {k: v for k, v in result.items() if k not in args and k not in ("since", "until")}
    return f"{tool}({shown}) -> {_fmt(body)}"


def answer_question(question: str, fact_line: str) -> str:
    return f"Facts: {fact_line}\nQuestion: {question}"
