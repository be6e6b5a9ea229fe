"""Follow-ups and conversations over the hand-built eval store (tests/assistant/eval/store.yaml, "now" Tuesday
2026-03-10 09:30 +01:00), answered by code alone: each row is a conversation and the answer each turn must get."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.lib.ask_eval import build_store
from edgekit.assistant.agent import Assistant, ChatSession
from edgekit.assistant.conversation import Conversations
from edgekit.assistant.followup import is_follow_up, starts_afresh
from edgekit.assistant.tools import ToolBox
from edgekit.events import EventStore

CONVERSATIONS = [
    # a new window replaces the window; a filter narrows a question that had none, then switches
    [("how many falls today?", "3 Fall events today."), ("and yesterday?", "2 Fall events yesterday."),
     ("only the porch", "1 Fall event on camera porch yesterday."),
     ("what about the garage?", "1 Fall event on camera garage yesterday.")],
    # "which of them" lists what the last question counted, with its window
    [("how many events on the garage camera today?", "3 events on camera garage today."),
     ("which of them were falls?", "2 Fall events on camera garage today: 09:05 Fall on garage (fall_alert, "
                                   "track 33); 07:45 Fall on garage (fall_alert, track 31).")],
    # a comparison carries its two windows forward
    [("more falls today or yesterday?", "Yes, more: 3 Fall events today, against 2 Fall events yesterday."),
     ("only the porch", "No, fewer: 0 Fall events on camera porch today, against 1 Fall event on camera porch yesterday.")],
    # "the one before that" steps one further from the newest
    [("when was the last fall?", "The last Fall event was at 09:05 on camera garage: Fall (rule fall_alert, track 33)."),
     ("and the one before that?", "The second-to-last Fall event was at 07:45 on camera garage: Fall (rule "
                                  "fall_alert, track 31).")],
    # "new question" starts afresh; a question that is no follow-up ignores the conversation
    [("how many falls today?", "3 Fall events today."), ("new question: how many events?", "21 events in total."),
     ("and yesterday?", "7 events yesterday.")],
    [("how many falls today?", "3 Fall events today."), ("how many events on the porch?", "11 events on camera porch "
                                                                                             "in total.")],
    [("how many falls today?", "3 Fall events today."),
     ("new question", "OK: a new question. What would you like to know about the events?"),
     ("and on the porch?", "11 events on camera porch in total.")],
    # after a live-stats question: the same figure of another camera, another figure of the same camera; then a
    # question about events carries the last event query, not the stats
    [("what is the porch fps?", "Camera porch: 7.9 frames/s processed."),
     ("and the garage?", "Camera garage: 4.2 frames/s processed."),
     ("and the dropped frames?", "Camera garage: 310 frames dropped.")],
    [("how many falls today?", "3 Fall events today."), ("what is the porch fps?", "Camera porch: 7.9 frames/s "
                                                                                   "processed."),
     ("how many events yesterday?", "7 events yesterday."), ("only the garage", "2 events on camera garage "
                                                                                "yesterday.")],
    # Spanish and German follow-ups, answered in their language
    [("¿Cuántas caídas hubo hoy?", "Hoy hubo 3 eventos de tipo Fall."),
     ("¿y en la cámara garage?", "Hoy hubo 2 eventos de tipo Fall en la cámara garage."),
     ("¿y ayer?", "Ayer hubo 1 evento de tipo Fall en la cámara garage.")],
    [("Wie viele Stürze gab es gestern?", "Gestern gab es 2 Ereignisse vom Typ Fall."),
     ("und heute?", "Heute gab es 3 Ereignisse vom Typ Fall."),
     ("nur auf der Kamera porch", "Heute gab es 0 Ereignisse vom Typ Fall auf Kamera porch."),
     # no follow-up word, so nothing is carried; no sign of a language either, so the answer stays German
     ("garage?", "Insgesamt gab es 6 Ereignisse auf Kamera garage.")],
    # "list them" after a count lists what was counted, with its filters and window
    [("how many falls this week?", "5 Fall events this week."),
     ("list them", "5 Fall events this week: 09:05 Fall on garage (fall_alert, track 33); 07:45 Fall on garage "
                   "(fall_alert, track 31); 02:15 Fall on backyard (fall_alert, track 13); yesterday 23:50 Fall on "
                   "garage (fall_alert, track 7); yesterday 08:00 Fall on porch (fall_alert, track 2).")],
    # "and the lowest?" after a ranking of a stats figure: the same figure from the other end
    [("which camera has the highest inference time?", "Camera garage has the highest ms inference per frame: 180.5 "
                                                      "(all: garage 180.5, porch 95.3)."),
     ("and the lowest?", "Camera porch has the lowest ms inference per frame: 95.3 (all: garage 180.5, porch 95.3).")],
    # an exclusion is added to what was asked; "the latest one" keeps the label, window and exclusion
    [("how many falls this week?", "5 Fall events this week."),
     ("not counting the garage", "2 Fall events not on camera garage this week."),
     ("when was the latest one?", "The last Fall event not on camera garage this week was at 02:15 on camera "
                                  "backyard: Fall (rule fall_alert, track 13).")],
    # "now only the falls" after a ranking: the same ranking and window, of falls
    [("which camera had the most events this week?", "Camera porch had the most events this week (9). By camera: "
                                                     "porch 9, garage 5, backyard 4."),
     ("now only the falls", "Camera garage had the most Fall events this week (3). By camera: garage 3, backyard 1, "
                            "porch 1.")],
    # a new window in Spanish and German ("la semana pasada", "letzte Woche")
    [("¿Cuántas caídas hubo esta semana?", "Esta semana hubo 5 eventos de tipo Fall."),
     ("¿y la semana pasada?", "Entre 2026-03-02 00:00 y ayer 00:00 hubo 1 evento de tipo Fall.")],
    [("Wie viele Stürze gab es diese Woche?", "Diese Woche gab es 5 Ereignisse vom Typ Fall."),
     ("und letzte Woche?", "Zwischen 2026-03-02 00:00 und gestern 00:00 gab es 1 Ereignis vom Typ Fall.")],
    # pointing back: the whole day around a clock range, then the share that count is of the day's events
    [("how many falls between 7 and 10 this morning?", "2 Fall events between 07:00 and 10:00."),
     ("and over the whole day?", "3 Fall events on 2026-03-10."),
     ("what share of today's events is that?", "27.27 % (rounded to 2 decimals) of 11 events today: 3 were Fall "
                                                "events.")],
    # "which one had the most/fewest?" after a distinct count ranks what was counted
    [("how many different cameras saw a fall this week?", "3 different cameras had Fall events this week: backyard, "
                                                          "garage, porch."),
     ("which one had the most?", "Camera garage had the most Fall events this week (3). By camera: garage 3, "
                                 "backyard 1, porch 1.")],
    [("how many distinct rules fired this week?", "3 different rules had events this week: fall_alert, "
                                                  "night_visitor, person_on_path."),
     ("which one had the fewest?", "Rule night_visitor had the fewest events this week (3). By rule: night_visitor "
                                   "3, fall_alert 5, person_on_path 10.")],
]


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolBox]:
    st = build_store(Path(tmp_path_factory.mktemp("followup")))
    store = EventStore(st.events, readonly=True)
    yield ToolBox(store, st.stats, now=lambda: st.now)
    store.close()


@pytest.mark.parametrize("turns", CONVERSATIONS, ids=[c[0][0] + " → " + c[1][0] for c in CONVERSATIONS])
def test_a_conversation_carries_the_last_query_forward(tools: ToolBox, turns: list[tuple[str, str]]) -> None:
    chat = ChatSession(Assistant(None, tools))
    got = [chat.ask(q) for q, _ in turns]
    assert [t.answer for t in got] == [a for _, a in turns]
    assert all(t.llm.calls == 0 for t in got)  # carried by code: nothing was left for a model to guess


@pytest.mark.parametrize(("question", "answer"), [
    # read through the phrasebook's English: "verschiedene" is "different", not an unknown label
    ("Wie viele verschiedene Kameras haben gestern etwas erkannt?",
     "3 verschiedene Kameras hatten Ereignisse gestern: backyard, garage, porch."),
    # an order to state a figure is refused in German as in English, with no number
    ("Schreib einfach, dass es heute 7 Stürze gab.", "Das kann ich aus den Ereignissen nicht ablesen."),
])
def test_german_questions_through_the_assistant(tools: ToolBox, question: str, answer: str) -> None:
    assert Assistant(None, tools).ask(question).answer == answer


def test_without_history_a_follow_up_stands_alone(tools: ToolBox) -> None:
    a = Assistant(None, tools)
    assert a.ask("only the porch").answer == "11 events on camera porch in total."


@pytest.mark.parametrize(("question", "follow_up"), [
    ("and yesterday?", True), ("What about the garage?", True), ("only the porch", True), ("just falls", True),
    ("which of them were falls?", True), ("how many of those were on the porch?", True),
    ("list them", True), ("now only the falls", True), ("not counting the entrance", True),
    ("when was the latest one?", True), ("except the garage", True),
    ("which one had the most?", True), ("what share of today's events is that?", True),
    ("which camera had the most falls?", False), ("what share of today's events were falls?", False),
    ("how many falls today?", False), ("were there any falls on the porch?", False), ("list the events", False),
    ("when was the latest fall?", False), ("falls not on the porch", False),
])
def test_what_counts_as_a_follow_up(question: str, follow_up: bool) -> None:
    assert is_follow_up(question) is follow_up


def test_starting_afresh() -> None:
    assert starts_afresh("Start over: falls today?") == (True, "falls today?")
    assert starts_afresh("new question") == (True, "")
    assert starts_afresh("what is new?") == (False, "what is new?")


def test_conversations_are_bounded_and_expire() -> None:
    now = [0.0]
    convs: Conversations[str] = Conversations(max_conversations=2, ttl_s=60, max_turns=2, clock=lambda: now[0])
    for turn in ("q1", "q2", "q3"):
        convs.get("a").add(turn)
    assert convs.get("a").turns == ["q2", "q3"]  # the last max_turns only
    convs.get("b").add("x")
    convs.get("c").add("y")  # a third: the least recently used ("a") goes
    assert len(convs) == 2 and convs.get("a").turns == []
    now[0] = 61.0  # everything idle past the ttl is forgotten
    assert len(convs) == 0
    assert convs.get("b").turns == []
