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

from edgekit.assistant import prompts
from edgekit.assistant.engine import LlamaEngine
from edgekit.assistant.grounding import ungrounded_numbers
from edgekit.assistant.hints import read_hints
from edgekit.assistant.tools import EVENT_TOOLS, ToolBox, ToolCallError
from edgekit.errors import EdgekitError

log = logging.getLogger(__name__)

EMPTY_STORE_ANSWER = "No events have been recorded yet: the event store is empty, so there is nothing to report."


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
    hints: dict[str, Any] | None = None  # what the question fixed in the grammar (None: not narrowed)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    facts: str = ""
    answer: str = ""
    grounded: bool = True
    ungrounded: list[str] = field(default_factory=list)
    outcome: str = "answered"  # answered | no_valid_tool_call | empty_store
    ttft_s: float | None = None
    total_s: float = 0.0

    @property
    def results(self) -> list[dict[str, Any]]:
        return [c.result for c in self.tool_calls if c.result is not None]

    @property
    def valid_call(self) -> ToolCallRecord | None:
        return next((c for c in reversed(self.tool_calls) if c.result is not None), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


OnToken = Callable[[str], None]


class Assistant:
    """Answers questions from the tools' data with one loaded, instruction-tuned model.

    Examples:
        >>> assistant = Assistant(engine, ToolBox(store))               # doctest: +SKIP
        >>> t = assistant.ask("how many falls today?", on_token=print)  # doctest: +SKIP
        >>> t.valid_call.result["count"]                                # doctest: +SKIP
    """

    def __init__(
        self, engine: LlamaEngine, tools: ToolBox, *, max_answer_tokens: int = 96, narrow: bool = True
    ) -> None:
        if not engine.has_chat_template:
            raise EdgekitError(
                f"{engine.path.name} has no chat template (a base model): use an instruction-tuned GGUF "
                "such as --model smollm2-135m-instruct"
            )
        self.engine = engine
        self.tools = tools
        self.max_answer_tokens = max_answer_tokens
        self.narrow = narrow
        self.tool_prefix = [
            {"role": "system", "content": prompts.TOOL_SYSTEM},
            *prompts.chat_turns(
                [(prompts.tool_question(q, ["Fall", "Normal"], ["cam1", "cam2"]), a) for q, a in prompts.TOOL_EXAMPLES]
            ),
        ]
        self.answer_prefix = [{"role": "system", "content": prompts.ANSWER_SYSTEM}]
        self.prefix_tokens = engine.keep_prefix(self.tool_prefix) + engine.keep_prefix(self.answer_prefix)

    def _call_tool(self, question: str, history: Sequence[Transcript], t: Transcript) -> ToolCallRecord:
        msgs = list(self.tool_prefix)
        labels, cameras = self.tools.labels(), self.tools.cameras()
        for past in history:  # earlier questions and their calls, so follow-ups ("and yesterday?") work
            if (call := past.valid_call) is not None:
                msgs += [
                    {"role": "user", "content": prompts.tool_question(past.question, labels, cameras)},
                    {"role": "assistant", "content": call.raw},
                ]
        msgs.append({"role": "user", "content": prompts.tool_question(question, labels, cameras)})
        hints = read_hints(question, labels, cameras) if self.narrow else None
        t.hints = hints.to_dict() if hints else None
        schema = self.tools.call_schema(hints)
        for attempt in range(2):
            raw = "".join(self.engine.chat_stream(msgs, schema=schema, max_tokens=128)).strip()
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
                msgs += [
                    {"role": "assistant", "content": raw},
                    {"role": "user", "content": f"That tool call failed: {e}. Write a corrected call."},
                ]
        return t.tool_calls[-1]

    def ask(self, question: str, *, history: Sequence[Transcript] = (), on_token: OnToken | None = None) -> Transcript:
        """Answer ``question``; pieces of the answer go to ``on_token`` as they are generated."""
        t0 = time.perf_counter()
        t = Transcript(question=" ".join(question.split()))
        emit = on_token or (lambda _s: None)

        def say(text: str) -> None:
            if t.ttft_s is None:
                t.ttft_s = time.perf_counter() - t0
            t.answer += text
            emit(text)

        rec = self._call_tool(t.question, history, t)
        if rec.result is None:
            t.outcome = "no_valid_tool_call"
            say(f"I could not answer that: the model did not make a valid tool call ({rec.error}).")
        elif rec.tool in EVENT_TOOLS and self.tools.store_is_empty():
            t.outcome = "empty_store"
            say(EMPTY_STORE_ANSWER)
        else:
            assert rec.tool is not None and rec.args is not None
            t.facts = "none needed" if rec.tool == "none" else prompts.facts(rec.tool, rec.args, rec.result)
            example = prompts.ANSWER_EXAMPLES.get(rec.tool)
            msgs = [
                *self.answer_prefix,
                *prompts.chat_turns([example] if example else []),
                {"role": "user", "content": prompts.answer_question(t.question, t.facts)},
            ]
            for piece in self.engine.chat_stream(msgs, max_tokens=self.max_answer_tokens):
                say(piece)
            t.ungrounded = ungrounded_numbers(t.answer, [t.facts, t.question])
            if t.ungrounded:
                t.grounded = False
                say(f"\n[check: {', '.join(t.ungrounded)} did not come from the data; the data: {t.facts}]")
        t.total_s = time.perf_counter() - t0
        return t


class ChatSession:
    """An ``Assistant`` with a bounded history of earlier questions and their tool calls."""

    def __init__(self, assistant: Assistant, max_turns: int = 3) -> None:
        self.assistant = assistant
        self.max_turns = max_turns
        self.history: list[Transcript] = []

    def ask(self, question: str, on_token: OnToken | None = None) -> Transcript:
        t = self.assistant.ask(question, history=self.history[-self.max_turns :], on_token=on_token)
        self.history.append(t)
        return t
