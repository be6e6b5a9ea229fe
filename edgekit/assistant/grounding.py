"""Grounding checks: the tool arguments agree with what the question states outright, and the numbers in an
answer come from the tool's arguments and result — never from the question alone (a number that appears only
in the question, "the real number is 100", is not evidence)."""

from __future__ import annotations

import json
import re
from typing import Any

_NUMBER = re.compile(
    r"(?<![\w.])-?\d+(?:[.,]\d+)?(?![\w])|\b(?:zero|two|three|four|five|six|seven|eight|"
    r"nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|"
    r"twenty)\b",
    re.IGNORECASE,
)
_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "  # noqa: SIM905
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}


def _value(token: str) -> float:
    t = token.lower()
    return float(_WORDS[t]) if t in _WORDS else float(t.replace(",", "."))


def numbers_in(text: str) -> list[str]:
    """Number tokens (digits, or the words zero and two…twenty: "one" is too often a pronoun) in order."""
    return [m.group(0) for m in _NUMBER.finditer(text)]


def allowed_values(sources: list[Any]) -> set[float]:
    """Every number in ``sources`` (dicts are read as JSON text), with the roundings an answer may use."""
    out: set[float] = set()
    for src in sources:
        text = src if isinstance(src, str) else json.dumps(src)
        for tok in numbers_in(text):
            v = _value(tok)
            out.update({v, abs(v), round(v), round(v, 1), round(v, 2)})
    return out


def ungrounded_numbers(answer: str, sources: list[Any]) -> list[str]:
    """The number tokens in ``answer`` that appear in none of ``sources``.

    Examples:
        >>> ungrounded_numbers("There were 3 falls, not five.", [{"count": 3}])
        ['five']
    """
    allowed = allowed_values(sources)
    return [tok for tok in numbers_in(answer) if _value(tok) not in allowed]


def check_call(stated: dict[str, Any], args: dict[str, Any]) -> list[str]:
    """Disagreements between what the question stated (see :class:`~edgekit.assistant.reading.Reading`) and
    the query's arguments; empty when they agree."""
    problems = []
    for key, value in stated.items():
        got = args.get(key)
        if key in ("window", "other_window"):
            got = {k: v for k, v in (got or {}).items() if v is not None}
        if got != value:
            problems.append(f"the question states {key}={value!r} but the query has {got!r}")
    return problems
