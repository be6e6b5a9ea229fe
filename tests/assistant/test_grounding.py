"""Numbers in an answer must come from the tool results or the question."""

from __future__ import annotations

import pytest

from edgekit.assistant.grounding import numbers_in, ungrounded_numbers


@pytest.mark.parametrize(
    ("answer", "sources", "flagged"),
    [
        ("There were 3 falls today.", [{"count": 3}], []),
        ("There were three falls today.", [{"count": 3}], []),
        ("There were 4 falls today.", [{"count": 3}], ["4"]),
        ("Camera gate runs at 7.5 fps and dropped 41 frames.", [{"process_fps": 7.52, "dropped": 41}], []),
        ("Inference takes 118 ms.", [{"stage_ms": {"infer": 118.4}}], []),
        ("No falls were recorded in the last 24 hours.", [{"count": 0}, "falls in the last 24 hours?"], []),
        ("One of the cameras is slow.", [{}], []),  # "one" as a pronoun is not a number
        ("It happened at 2025-06-10 14:20:00.", [{"time": "2025-06-10 14:20:00"}], []),
        ("It happened at 09:15.", [{"time": "2025-06-10 14:20:00"}], ["09", "15"]),
    ],
)
def test_ungrounded(answer: str, sources: list[object], flagged: list[str]) -> None:
    assert ungrounded_numbers(answer, sources) == flagged


def test_numbers_in() -> None:
    assert numbers_in("cam2 saw 12 events, twelve in total, v1.2") == ["12", "twelve"]
