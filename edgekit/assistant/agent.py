"""The assistant's loop: read the question by code, let the model choose only what the question leaves open
(constrained to the operations that exist), run the query, and write the answer from its result by code.

Every step is kept in a :class:`Transcript` (what ``--json`` and the MQTT reply show): the reading, the tool
call with who chose each part, the result, the outcome, and the model's cost (tokens, TTFT, tokens/s).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from edgekit.assistant import answer as words
from edgekit.assistant import answer_local, prompts
from edgekit.assistant.conversation import Conversation
from edgekit.assistant.engine import Generation, LlamaEngine
from edgekit.assistant.followup import carry_forward, starts_afresh
from edgekit.assistant.glossary import to_reader_english
from edgekit.assistant.grounding import check_call, ungrounded_numbers
from edgekit.assistant.language import question_language, unknown_script
from edgekit.assistant.phrasebook import phrase
from edgekit.assistant.reading import Reading, read_question
from edgekit.assistant.tools import ToolBox, ToolCallError
from edgekit.errors import EdgekitError

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
EMPTY_STORE_ANSWER = words.EMPTY_STORE
OUTCOMES = ("answered", "unanswerable", "empty_store", "greeting")


@dataclass
class ToolCallRecord:
    """One tool call: its arguments, who chose them ("question": read by code; "model": the op the model
    chose), and the result or the error."""

    tool: str
    args: dict[str, Any]
    chosen_by: str = "question"
    raw: str = ""
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class LLMUsage:
    """The model's share of one request (zero calls when the question stated everything)."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    ttft_s: float | None = None
    tokens_per_s: float | None = None

    def add(self, g: Generation) -> None:
        self.calls += 1
        self.tokens_in += g.tokens_in
        self.tokens_out += g.tokens_out
        self.ttft_s = g.ttft_s if self.ttft_s is None else self.ttft_s
        self.tokens_per_s = g.tokens_per_s


@dataclass
class Transcript:
    """Everything one question produced; ``to_dict`` is what ``--json`` and MQTT return."""

    question: str
    lang: str = "en"  # the question's language, and the answer's
    fresh: bool = False  # the question started a new conversation ("new question: ...")
    read_as: str = ""  # the question as the reader read it (Spanish and German question words in English)
    reading: dict[str, Any] | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    answer: str = ""
    outcome: str = "answered"  # one of OUTCOMES
    grounded: bool = True
    grounding: list[str] = field(default_factory=list)
    llm: LLMUsage = field(default_factory=LLMUsage)
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


def needed_ctx(engine: LlamaEngine) -> int:
    """The context the model's one prompt needs at most: fixed prompt + longest question + reply."""
    return engine.prompt_tokens(prompts.op_messages("")) + prompts.MAX_QUESTION_TOKENS + prompts.OP_ANSWER_TOKENS


def check_question(question: str) -> str:
    """The question with its whitespace collapsed, or EdgekitError (one line) when it is empty, too long, or in a
    script the reader does not read (no model could answer it from rules written in Latin-script words)."""
    q = " ".join(question.split())
    if not q:
        raise EdgekitError('the question is empty: ask e.g. "how many falls were there today?"')
    if len(q) > MAX_QUESTION_CHARS:
        raise EdgekitError(f"the question is {len(q)} characters long; at most {MAX_QUESTION_CHARS} are accepted")
    if script := unknown_script(q):
        raise EdgekitError(f"the question is written in a script the assistant does not read ({script.lower()}): "
                           "ask in English, Spanish or German")
    return q


class Assistant:
    """Answers questions from the event store and live stats; the model (if any) picks only open choices.

    Examples:
        >>> assistant = Assistant(engine, ToolBox(store))               # doctest: +SKIP
        >>> t = assistant.ask("how many falls today?", on_token=print)  # doctest: +SKIP
        >>> t.valid_call.result["count"]                                # doctest: +SKIP
    """

    def __init__(self, engine: LlamaEngine | None, tools: ToolBox, *,
                 load_engine: Callable[[], LlamaEngine] | None = None) -> None:
        """``engine`` None with ``load_engine``: the model is loaded by ``load_engine`` when a question first
        needs it (most questions are read by code alone)."""
        if engine is not None and not engine.has_chat_template:
            raise EdgekitError(
                f"{engine.path.name} has no chat template (a base model): use an instruction-tuned GGUF "
                "such as --model smollm2-135m-instruct"
            )
        self.engine = engine
        self._load_engine = load_engine
        self.tools = tools
        self._prefix_kept = False
        self.prefix_on_disk = True  # keep the fixed prompt's KV state in the user cache for the next process
        self.on_transcript: Callable[[Transcript], None] | None = None  # analytics hook (daemon, MQTT)

    def needed_ctx(self) -> int:
        """The context the model's one prompt needs at most (0 without a loaded model)."""
        return 0 if self.engine is None else needed_ctx(self.engine)

    def _choose_op(self, question: str, reading: Reading, t: Transcript) -> tuple[str, str]:
        """(op, raw model reply): the model's choice among the operations the question allows."""
        model_q = prompts.model_question(question)
        ops = prompts.allowed_ops(model_q)
        if self.engine is None and self._load_engine is not None:
            self.engine = self._load_engine()
        if self.engine is None:
            return "count", ""
        if not self._prefix_kept:
            self.engine.keep_prefix(prompts.op_prefix(), on_disk=self.prefix_on_disk)
            self._prefix_kept = True
        model_q = self.engine.truncate(model_q, prompts.MAX_QUESTION_TOKENS)
        g = self.engine.generate(prompts.op_messages(model_q), schema=prompts.op_schema(ops),
                                 max_tokens=prompts.OP_ANSWER_TOKENS)
        t.llm.add(g)
        try:
            op = json.loads(g.text)
        except ValueError:
            op = None
        if op not in ops:  # the grammar makes this rare (a reply cut at max_tokens); count is the safe reading
            t.grounding.append(f"model reply {g.text!r} was not one of {ops}: counted instead")
            op = "count"
        return str(op), g.text

    def ask(self, question: str, *, history: Sequence[Transcript] = (), on_token: OnToken | None = None) -> Transcript:
        """Answer ``question`` (a follow-up carries the newest event query of ``history`` forward); the answer goes
        to ``on_token`` when it is ready."""
        t0 = time.perf_counter()
        t = Transcript(question=check_question(question))
        # a question with no sign of a language ("porch?") keeps the conversation's
        t.lang = question_language(t.question, default=history[-1].lang if history else "en")
        t.fresh, t.read_as = starts_afresh(to_reader_english(t.question, t.lang))
        try:
            if t.read_as:
                text, t.outcome = self._read_and_answer(t, () if t.fresh else history)
            else:  # "new question" alone: the conversation starts afresh, nothing to read yet
                text, t.outcome = (words.FRESH if t.lang == "en" else phrase(t.lang, "fresh")), "greeting"
        except ToolCallError as e:
            text, t.outcome = self._unanswerable(t, str(e)), "unanswerable"
            if t.tool_calls:
                t.tool_calls[-1].error = str(e)
        t.answer = text
        t.ttft_s = t.total_s = time.perf_counter() - t0
        if on_token is not None:
            on_token(text)
        if self.on_transcript is not None:
            self.on_transcript(t)
        log.info("ask %r -> %s (%s)", t.question, t.outcome, text)
        return t

    def _read_and_answer(self, t: Transcript, history: Sequence[Transcript]) -> tuple[str, str]:
        """Read the question, carry a follow-up forward, answer it.

        A Spanish or German question is read twice: in the phrasebook's English (``t.read_as``, which also tells a
        follow-up: "¿y ayer?" → "and yesterday?") and as asked, by the reader's own Spanish and German rows; the
        second is kept only where it reads more (:func:`_reads_more`)."""
        english = t.read_as
        reading = self._read(english)
        if t.lang != "en" and not t.fresh:
            asked = self._read(t.question)
            if _reads_more(asked, reading):
                reading, t.read_as = asked, t.question
        reading = carry_forward(english, reading, history)
        if reading.query.lang is None and t.lang != "en":  # read from the phrasebook's English: keep what was asked
            reading.query = reading.query.model_copy(update={"lang": t.lang})
        t.reading = reading.to_dict()
        return self._answer(t, reading)

    def _read(self, question: str) -> Reading:
        return read_question(question, self.tools.now(), self.tools.cameras(), self.tools.labels(),
                             self.tools.rules(), self.tools.boards())

    def _unanswerable(self, t: Transcript, reason: str | None) -> str:
        """The refusal in the question's language (the reason itself is in the transcript's reading)."""
        return words.unanswerable(reason) if t.lang == "en" else phrase(t.lang, "unanswerable")

    def _answer(self, t: Transcript, reading: Reading) -> tuple[str, str]:
        lang = t.lang
        if reading.kind == "unanswerable":
            return self._unanswerable(t, reading.reason), "unanswerable"
        if reading.kind == "greeting":
            return (words.GREETING if lang == "en" else phrase(lang, "greeting")), "greeting"
        if reading.kind == "open":
            return self._unanswerable(t, "the question names nothing the events or live stats hold (a label, "
                                         "camera, rule, time window or statistic)"), "unanswerable"
        if reading.kind == "stats":
            camera = reading.stated.get("camera")
            args = {"camera": camera, "field": reading.stats_field, "order": reading.stats_order,
                    "top": reading.stats_top, "not_camera": reading.stated.get("not_camera")}
            call = ToolCallRecord("camera_stats", args)
            t.tool_calls.append(call)
            call.result = self.tools.camera_stats(camera, str(reading.stats_field), reading.stats_order,
                                                  reading.stats_top, reading.stated.get("not_camera"))
            text = words.stats_answer(call.result) if lang == "en" else answer_local.stats_answer(call.result, lang)
            return text, _stats_outcome(call.result)
        if reading.kind == "device":
            call = ToolCallRecord("device_status", {"field": reading.stats_field})
            t.tool_calls.append(call)
            call.result = self.tools.device_status(str(reading.stats_field))
            text = words.device_answer(call.result) if lang == "en" else answer_local.device_answer(call.result, lang)
            return text, _stats_outcome(call.result)
        if self.tools.store_is_empty():
            return (words.EMPTY_STORE if lang == "en" else phrase(lang, "empty")), "empty_store"
        return self._events(t, reading)

    def _events(self, t: Transcript, reading: Reading) -> tuple[str, str]:
        """One event query: the model picks the operation only when the question leaves it open."""
        query = reading.query
        chosen_by, raw = "question", ""
        if not reading.op_stated:
            op, raw = self._choose_op(t.read_as, reading, t)  # the words the model's prompt is written for
            chosen_by = "model (op)"
            query = query.model_copy(update={"op": op, "limit": 1 if op in ("first", "last") else query.limit})
        args = query.model_dump(mode="json")
        call = ToolCallRecord("events", args, chosen_by=chosen_by, raw=raw)
        t.tool_calls.append(call)
        t.grounding += check_call(reading.stated, args)
        t.grounded = not t.grounding
        if not t.grounded:  # cannot happen while code builds the query; kept as the contract's check
            return self._unanswerable(t, "the query did not match what the question states"), "unanswerable"
        call.result = self.tools.events(query)
        text = words.event_answer(args, call.result) if t.lang == "en" else \
            answer_local.event_answer(args, call.result, t.lang, self.tools.now())
        stray = ungrounded_numbers(text, [args, call.result])
        if stray:  # a template bug, never the model: refuse rather than show a number without a source
            t.grounded = False
            t.grounding.append(f"numbers {stray} in the answer are not in the query or its result")
            return self._unanswerable(t, "the answer could not be checked against the data"), "unanswerable"
        return text, "answered"


_MEASURES = ("compare", "share", "ratio", "average", "distinct")


def _reads_more(asked: Reading, english: Reading) -> bool:
    """Whether the reading of a question as asked says more than the reading of its phrasebook English: a measure
    the phrasebook's word-for-word English lost ("más ... que" → compare), a window it missed ("der heutigen"), or
    a meaning where the English was left open. A refusal of the English ("elefantes": no such label) stands."""
    if english.kind == "open":
        return asked.kind not in ("open", "unanswerable")
    if asked.kind != "events" or english.kind != "events":
        return False
    if asked.query.op in _MEASURES and english.query.op not in _MEASURES:
        return True
    return "window" in asked.stated and "window" not in english.stated


def _stats_outcome(result: dict[str, Any]) -> str:
    """``unanswerable`` when the figure asked for is not reported (no stats, or no value for any camera asked)."""
    cams = result.get("cameras")
    if not result.get("available") or (isinstance(cams, dict) and cams and all(v is None for v in cams.values())):
        return "unanswerable"
    return "answered"


class ChatSession:
    """An ``Assistant`` in one conversation: each question sees the turns before it (the last ``max_turns``), so
    a follow-up ("and yesterday?") carries the last query forward; "new question" starts afresh."""

    def __init__(self, assistant: Assistant, max_turns: int = 3) -> None:
        self.assistant = assistant
        self.conversation: Conversation[Transcript] = Conversation(max_turns)

    @property
    def history(self) -> list[Transcript]:
        return self.conversation.turns

    def ask(self, question: str, on_token: OnToken | None = None) -> Transcript:
        return ask_in(self.assistant, self.conversation, question, on_token=on_token)


class HistoryAsker(Protocol):
    def ask(self, question: str, *, history: Sequence[Transcript] = (),
            on_token: OnToken | None = None) -> Transcript: ...


def ask_in(assistant: HistoryAsker, conversation: Conversation[Transcript], question: str, *,
           on_token: OnToken | None = None) -> Transcript:
    """Ask ``question`` as the next turn of ``conversation`` (the chat, a dashboard tab, an MQTT conversation id)."""
    t = assistant.ask(question, history=list(conversation.turns), on_token=on_token)
    if t.fresh:
        conversation.clear()
    conversation.add(t)
    return t
