"""The one prompt the model sees: choose what to do with the events a question is about.

Everything the question states (names, time window) has been read by code already
(:mod:`edgekit.assistant.reading`); the model is asked only for the operation, constrained by a JSON schema
to the operations that exist. Worked examples are chat turns (a 135M model follows them far better than
instructions); they use neutral names, not the evaluation's, and their KV state is computed once and kept.
"""

from __future__ import annotations

import json
import re

OPS = ("count", "list", "last", "first")
#: the model sees at most this much of a question (the rest was read by code already)
MAX_QUESTION_TOKENS = 96
#: the longest reply the op grammar allows ('"count"' is 3 tokens for SmolLM2)
OP_ANSWER_TOKENS = 8
#: the context every profile must give the assistant: prompt (~170 tokens with SmolLM2's template) + question
#: + reply, rounded up to a power of two; fit suggestions never go below it, and the load checks the real need
MIN_CTX = 512

OP_SYSTEM = (
    "A user asks about the events an edge camera recorded. Choose what to do with the matching events: "
    "count them, list them, or give the last or first one."
)

OP_EXAMPLES: list[tuple[str, str]] = [
    ("falls on cam1?", "count"),
    ("anything on the door camera this morning?", "list"),
    ("door_rule alerts", "count"),
    ("what did cam2 see recently", "list"),
    ("the latest detection at the gate", "last"),
    ("the earliest alert on cam3", "first"),
]


#: time phrases with "last"/"past" in them, which the model reads as "the last event": the window is read by code
#: already, so the model is shown the question without them
_WINDOW_WORDS = re.compile(
    r"\b(?:(?:in|over|during|within|for|from)\s+)?(?:the\s+)?(?:last|past|previous)\s+(?:(?:\d+|a|an|one|two|three|"
    r"four|five|six|seven|few|couple of)\s*)?(?:minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?|night|weekend|"
    r"fortnight|year)\b", re.IGNORECASE)


def model_question(question: str) -> str:
    """The question as the model sees it: window phrases that say "last" or "past" removed."""
    return re.sub(r"\s+([?.!,])", r"\1", " ".join(_WINDOW_WORDS.sub(" ", question).split())) or question


def allowed_ops(model_q: str) -> tuple[str, ...]:
    """The operations the words of ``model_q`` (:func:`model_question`'s output, window phrases gone) allow:
    "last"/"first" only when it says last/latest/recent or first/earliest; count and list both state how many
    events matched."""
    q = model_q.lower()
    return tuple(op for op in OPS if op in ("count", "list")
                 or (op == "last" and re.search(r"\b(last|latest|recent(ly)?|newest|most recent)\b", q))
                 or (op == "first" and re.search(r"\b(first|earliest|oldest)\b", q)))


def op_schema(ops: tuple[str, ...] = OPS) -> dict[str, object]:
    """One JSON string out of ``ops``: two or three tokens to generate, nothing else is possible."""
    return {"type": "string", "enum": list(ops)}


def op_reply(op: str) -> str:
    return json.dumps(op)


def op_messages(question: str) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": OP_SYSTEM}]
    for q, op in OP_EXAMPLES:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": op_reply(op)}]
    msgs.append({"role": "user", "content": question})
    return msgs


def op_prefix() -> list[dict[str, str]]:
    """The fixed part of :func:`op_messages` (its KV state is kept)."""
    return op_messages("")[:-1]
