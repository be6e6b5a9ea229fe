"""The assistant's loop: one constrained tool call (one retry), the tool's result, then a streamed answer.

Every call and result is kept in a :class:`Transcript`; numbers in the answer that appear in no tool result
are flagged (and the user is told), because a 135M model restates numbers well but picks tools unreliably.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from edgekit.assistant.engine import LlamaEngine
from edgekit.assistant.grounding import ungrounded_numbers
from edgekit.assistant.tools import EVENT_TOOLS, TOOLS, ToolBox, ToolCallError

log = logging.getLogger(__name__)

_TOOL_LINES = "\n".join(f"- {t.name}: {t.summary}" for t in TOOLS.values())
SYSTEM_PROMPT = f"""You are the assistant of an edgekit camera device. You answer questions about detection \
events and about the device, and you never guess numbers.
First reply with one tool call as JSON: {{"tool": NAME, "args": {{...}}}}. Tools:
{_TOOL_LINES}
Then you get the tool result. Answer in one or two short sentences, using the numbers from the result exactly.
Examples of tool calls:
Question: how many people fell today?
{{"tool": "count_events", "args": {{"label": "Fall", "camera": null, "window": "today"}}}}
Question: what happened at cam2 in the last hour?
{{"tool": "list_events", "args": {{"label": null, "camera": "cam2", "window": "last_hour", "limit": 5}}}}
Question: show me the last 3 events
{{"tool": "last_events", "args": {{"n": 3}}}}
Question: why is camera cam1 slow?
{{"tool": "camera_stats", "args": {{"camera": "cam1"}}}}
Question: how hot is the device and how much memory is free?
{{"tool": "device_status", "args": {{}}}}
Question: hello!
{{"tool": "none", "args": {{}}}}"""

EMPTY_STORE_ANSWER = (
    "No events have been recorded yet: the event store is empty, so there is nothing to report."
)


@dataclass
class ToolCallRecord:
    """One attempt: what the model wrote, what it was parsed to, and the result or the error."""

    raw: str
    tool: str | None = None
    args: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Transcript:
    """Everything one question produced; ``to_dict`` is what ``--json`` and MQTT return."""

    question: str
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    answer: str = ""
    grounded: bool = True
    ungrounded: list[str] = field(default_factory=list)
    outcome: str = "answered"  # answered | no_valid_tool_call | empty_store
    ttft_s: float | None = None
    total_s: float = 0.0
    answer_pieces: int = 0

    @property
    def results(self) -> list[dict[str, Any]]:
        return [c.result for c in self.tool_calls if c.result is not None]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


OnToken = Callable[[str], None]


class Assistant:
    """Answers questions from the tools' data with one loaded model.

    Examples:
        >>> assistant = Assistant(engine, ToolBox(store))            # doctest: +SKIP
        >>> t = assistant.ask("how many falls today?", on_token=print)  # doctest: +SKIP
        >>> t.tool_calls[-1].result["count"]                          # doctest: +SKIP
    """

    def __init__(self, engine: LlamaEngine, tools: ToolBox, *, max_answer_tokens: int = 128) -> None:
        if not engine.has_chat_template:
            from edgekit.errors import EdgekitError

            raise EdgekitError(
                f"{engine.path.name} has no chat template (a base model): use an instruction-tuned GGUF "
                "such as --model smollm2-135m-instruct"
            )
        self.engine = engine
        self.tools = tools
        self.max_answer_tokens = max_answer_tokens
        self.system = {"role": "system", "content": SYSTEM_PROMPT}
        self.prefix_tokens = engine.keep_prefix([self.system])

    def _messages(self, history: Sequence[tuple[str, str]], *turns: tuple[str, str]) -> list[dict[str, str]]:
        msgs = [self.system]
        for q, a in history:
            msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        msgs += [{"role": role, "content": text} for role, text in turns]
        return msgs

    def _call_tool(self, question: str, history: Sequence[tuple[str, str]], t: Transcript) -> ToolCallRecord:
        labels, cameras = self.tools.labels(), self.tools.cameras()
        now = self.tools.now()
        prompt = (
            f"Known labels: {', '.join(labels) or 'none yet'}. "
            f"Known cameras: {', '.join(cameras) or 'none yet'}. "
            f"Now: {now:%A %Y-%m-%d %H:%M}.\nQuestion: {question}"
        )
        turns: list[tuple[str, str]] = [("user", prompt)]
        schema = self.tools.call_schema()
        for attempt in range(2):
            raw = "".join(
                self.engine.chat_stream(self._messages(history, *turns), schema=schema, max_tokens=160)
            )
            rec = ToolCallRecord(raw=raw)
            t.tool_calls.append(rec)
            try:
                try:
                    call = json.loads(raw)
                except json.JSONDecodeError as e:
                    raise ToolCallError(f"the reply was not valid JSON ({e.msg})") from e
                name, args = self.tools.parse(call)
                rec.tool, rec.args = name, args.model_dump()
                rec.result = self.tools.run(name, args)
                log.info("tool %s(%s) -> %s", name, rec.args, rec.result)
                return rec
            except ToolCallError as e:
                rec.error = str(e)
                log.info("bad tool call (attempt %d): %s -> %s", attempt + 1, raw, e)
                turns += [
                    ("assistant", raw),
                    ("user", f"That tool call failed: {e}. Reply with a corrected call."),
                ]
        return t.tool_calls[-1]

    def ask(
        self, question: str, *, history: Sequence[tuple[str, str]] = (), on_token: OnToken | None = None
    ) -> Transcript:
        """Answer ``question``; pieces of the answer go to ``on_token`` as they are generated."""
        t0 = time.perf_counter()
        t = Transcript(question=question.strip())
        emit = on_token or (lambda _s: None)

        def say(text: str) -> None:
            if t.ttft_s is None:
                t.ttft_s = time.perf_counter() - t0
            t.answer += text
            t.answer_pieces += 1
            emit(text)

        rec = self._call_tool(t.question, history, t)
        if rec.result is None:
            t.outcome = "no_valid_tool_call"
            say(f"I could not answer that: the model did not make a valid tool call ({rec.error}).")
        elif rec.tool in EVENT_TOOLS and self.tools.store_is_empty():
            t.outcome = "empty_store"
            say(EMPTY_STORE_ANSWER)
        else:
            if rec.tool == "none":
                follow = "No tool data is needed. Answer briefly; do not state any numbers."
            else:
                follow = (
                    f'Tool result: {json.dumps(rec.result)}\nAnswer the question "{t.question}" in one '
                    "or two short sentences, using these numbers exactly."
                )
            msgs = self._messages(history, ("user", t.question), ("assistant", rec.raw), ("user", follow))
            for piece in self.engine.chat_stream(msgs, max_tokens=self.max_answer_tokens):
                say(piece)
            t.ungrounded = ungrounded_numbers(t.answer, [*t.results, t.question])
            if t.ungrounded:
                t.grounded = False
                facts = json.dumps(rec.result, separators=(",", ":"))
                say(
                    f"\n[check: {', '.join(t.ungrounded)} did not come from the data; "
                    f"{rec.tool} returned {facts}]"
                )
        t.total_s = time.perf_counter() - t0
        return t


class ChatSession:
    """An ``Assistant`` with a bounded history of (question, answer) turns."""

    def __init__(self, assistant: Assistant, max_turns: int = 3) -> None:
        self.assistant = assistant
        self.max_turns = max_turns
        self.history: list[tuple[str, str]] = []

    def ask(self, question: str, on_token: OnToken | None = None) -> Transcript:
        t = self.assistant.ask(question, history=self.history[-self.max_turns :], on_token=on_token)
        self.history.append((t.question, t.answer))
        return t
