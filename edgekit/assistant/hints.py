"""Read what a question says outright (a label, a camera, a time word, "how many") and narrow the tool-call
grammar to it.

Why: SmolLM2-135M picks tools and arguments from a menu little better than chance (measured 4 of 16 right on
a small question set, ``benchmarks`` notes), but it follows a grammar exactly. So values the question names
are fixed in the grammar, values it does not name become null ("any"), and the model still chooses wherever
the question gives no cue. The hints are recorded in the transcript, so every narrowing is inspectable.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

# words that name a label of the default detector besides the label itself
LABEL_WORDS = {
    "fall": ("fall", "falls", "fell", "fallen", "falling"),
    "normal": ("normal", "upright", "standing"),
}
_TOOL_CUES: list[tuple[str, str]] = [
    ("count_events", r"\bhow many\b|\bcount\b|\bnumber of\b|\bhow often\b"),
    ("last_events", r"\b(last|latest|most recent|recent)\s+(\d+\s+)?(events?|detections?|alerts?)\b"),
    ("camera_stats", r"\bslow\b|\bfps\b|\bframe ?rate\b|\bdropp?(ed|ing)?\b|\blag\b|\bstats?\b|\blatency\b"),
    ("device_status", r"\bmemory\b|\bram\b|\btemperature\b|\bhot\b|\boverheat|\bcpu\b|\bload\b|\buptime\b"),
    ("list_events", r"\bwhat happened\b|\bwhich\b|\blist\b|\bshow\b|\bwhen\b"),
    ("none", r"^\s*(hi|hello|hey|thanks|thank you)\b"),
]
_WINDOWS: list[tuple[str, str]] = [
    ("last_hour", r"\b(last|past) hour\b|\bthis hour\b"),
    ("last_24_hours", r"\b(last|past) (24 hours|day)\b"),
    ("last_7_days", r"\b(last|past) (7 days|week)\b|\bthis week\b"),
    ("yesterday", r"\byesterday\b"),
    ("today", r"\btoday\b|\bthis (morning|afternoon|evening)\b|\btonight\b"),
    ("all_time", r"\b(ever|in total|all time|so far|overall)\b"),
]


@dataclass(frozen=True)
class Hints:
    """What the question fixes. ``tools`` None: no cue, the model chooses among all; ``label``/``camera``
    None: not named, so "any"; ``window``/``n`` None: not named, the model chooses."""

    tools: tuple[str, ...] | None = None
    label: str | None = None
    camera: str | None = None
    window: str | None = None
    n: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _words(label: str) -> tuple[str, ...]:
    low = label.lower()
    return LABEL_WORDS.get(low, (low, low + "s"))


def read_hints(question: str, labels: list[str], cameras: list[str]) -> Hints:
    """The hints a question gives about the store's ``labels`` and ``cameras``."""
    q = question.lower()
    tools = tuple(name for name, pat in _TOOL_CUES if re.search(pat, q))
    named_labels = [lab for lab in labels if any(re.search(rf"\b{re.escape(w)}\b", q) for w in _words(lab))]
    named_cams = [c for c in cameras if re.search(rf"\b{re.escape(c.lower())}\b", q)]
    if not named_cams:  # "camera 2" for a camera called cam2
        for num in re.findall(r"\bcam(?:era)?\s*#?(\d+)\b", q):
            named_cams += [c for c in cameras if re.fullmatch(rf"[a-z_-]*{num}", c.lower())]
    window = next((w for w, pat in _WINDOWS if re.search(pat, q)), None)
    m = re.search(r"\b(?:last|latest|recent)\s+(\d{1,2})\s+(?:events?|detections?|alerts?|falls?)\b", q)
    return Hints(
        tools=tools or None,
        label=named_labels[0] if len(named_labels) == 1 else None,
        camera=named_cams[0] if len(set(named_cams)) == 1 else None,
        window=window,
        n=min(int(m.group(1)), 20) if m else None,
    )
