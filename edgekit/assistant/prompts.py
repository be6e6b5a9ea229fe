"""The one prompt the model sees: choose what to do with the events a question is about.

Everything the question states (names, time window) has been read by code already
(:mod:`edgekit.assistant.reading`); the model is asked only for the operation, constrained by a JSON schema
to the operations that exist. Worked examples are chat turns (a 135M model follows them far better than
instructions); they use neutral names, not the evaluation's, and their KV state is computed once and kept.
"""

from __future__ import annotations

import json

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
