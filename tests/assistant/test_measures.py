"""The query language's new kinds, end to end on a real EventStore and stats file, code only (no model): compare,
share, ratio, average, distinct, exclusion, top-N over stats, clock ranges, typos, Spanish and German."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from edgekit.assistant.agent import Assistant
from edgekit.assistant.measures import figure
from edgekit.assistant.tools import ToolBox
from edgekit.contract.stats import CameraReport, DaemonStats, write_stats
from edgekit.errors import EdgekitError
from edgekit.events import EventStore
from edgekit.types import Event

TZ = timezone(timedelta(hours=2))
NOW = datetime(2026, 4, 16, 18, 0, tzinfo=TZ)  # a Thursday evening
DAY = timedelta(days=1)
MIDNIGHT = NOW.replace(hour=0)


def ev(label: str, cam: str, at: datetime, rule: str = "fall_alert", track: int | None = None) -> Event:
    return Event(rule=rule, source=cam, label=label, score=0.9, box=(1, 2, 3, 4), start_ts=at.timestamp(),
                 track_id=track)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    tmp: Path = tmp_path_factory.mktemp("measures")
    store = EventStore(tmp / "events.db")
    at = MIDNIGHT + timedelta(hours=9)  # today 09:00
    store.add_many([
        ev("Fall", "porch", at, track=1), ev("Fall", "porch", at + timedelta(hours=1), track=1),
        ev("Fall", "garden", at + timedelta(hours=2), track=2), ev("Normal", "garden", at, rule="walk", track=3),
        # yesterday: one fall, at 21:30 (inside "between 8 and 10 pm"), and one at 07:00
        ev("Fall", "porch", MIDNIGHT - DAY + timedelta(hours=21, minutes=30), track=4),
        ev("Normal", "cellar", MIDNIGHT - DAY + timedelta(hours=7), rule="walk", track=5),
        # the day before yesterday: three falls, one at 15:00 (inside "from 2 to 4:30 pm")
        *[ev("Fall", "garden", MIDNIGHT - 2 * DAY + timedelta(hours=h), track=6) for h in (8, 15, 17)],
    ])
    cams = {"porch": CameraReport(process_fps=7.5, stage_ms={"infer": 80.0}),
            "garden": CameraReport(process_fps=3.25, stage_ms={"infer": 120.0}),
            "cellar": CameraReport(process_fps=5.0, stage_ms={"infer": 95.0})}
    write_stats(tmp / "stats.json", DaemonStats(device="pi", cameras=cams))
    return Assistant(None, ToolBox(store, tmp / "stats.json", now=lambda: NOW))


@pytest.mark.parametrize(("question", "expected"), [
    ("Were there more falls yesterday than the day before?", "No, fewer: 1 Fall event yesterday, against 3"),
    ("were there more falls today or yesterday?", "Yes, more: 3 Fall events today, against 1"),
    ("Did the garden see fewer events than the porch today?", "No, the same number (equal): 2 events on camera garden today, against 2 events on camera porch today"),
    ("What share of today's events were falls?", "75 % of 4 events today: 3 were Fall events"),
    ("what percentage of falls were on the porch this week?", "42.86 % (rounded to 2 decimals)"),
    ("ratio of falls on the porch to falls on the garden?", "The ratio is 0.75"),
    ("Average falls per day over the last 3 days?", "On average 2.33 (rounded to 2 decimals) Fall events per day"),
    ("How many different cameras saw a fall this week?", "2 different cameras had Fall events this week: garden, porch"),
    ("how many distinct tracks were on the porch?", "2 different tracks"),
    ("Falls in the last 3 days not on the porch", "4 Fall events not on camera porch"),
    ("how many events today except on the porch and the garden?", "0 events not on camera garden or porch today"),
    ("how many falls between 8 and 10 pm yesterday?", "1 Fall event between yesterday 20:00 and yesterday 22:00"),
    ("how many falls from 2 to 4:30 pm the day before yesterday?", "1 Fall event between 2026-04-14 14:00"),
    ("how mny falls todya", "3 Fall events today"),
    ("¿cuántas caídas hubo ayer?", "Ayer hubo 1 evento de tipo Fall."),
    ("wie viele Stürze gab es vorgestern?", "Am 2026-04-14 gab es 3 Ereignisse vom Typ Fall."),
    ("were there as many falls today as yesterday?", "No, more: 3 Fall events today, against 1"),
    ("did the porch see as many events as the garden today?", "Yes, the same number (equal): 2 events on camera porch"),
    ("falls today vs yesterday", "More: 3 Fall events today, against 1"),
    ("which had more falls today, the porch or the garden?", "More: 2 Fall events on camera porch today, against 1"),
    ("did more cameras see a fall today than yesterday?", "Yes, more: 2 different cameras with Fall events today, "
                                                          "against 1 different cameras"),
    ("were there more falls per day this week than last week?", "Yes, more: 1.87 (rounded to 2 decimals) Fall events "
                                                                "per day this week, against 0 Fall events per day"),
    ("Which camera has the lowest processed fps?", "Camera garden has the lowest frames/s processed: 3.25"),
    ("which camera has the worst inference latency?", "Camera garden has the highest ms inference per frame: 120"),
    ("top 2 cameras by inference latency", "The 2 cameras with the highest ms inference per frame: garden 120, cellar 95"),
])
def test_answers(assistant: Assistant, question: str, expected: str) -> None:
    t = assistant.ask(question)
    assert t.outcome == "answered" and expected in t.answer, (t.answer, t.reading)
    assert t.llm.calls == 0  # read and answered by code


@pytest.mark.parametrize(("question", "expected"), [
    ("¿hubo más caídas ayer que anteayer?", "No, menos: 1 evento de tipo Fall ayer, frente a 3 eventos de tipo Fall"),
    ("¿qué porcentaje de los eventos de hoy fueron caídas?", "75 % de 4 eventos hoy: 3 fueron eventos de tipo Fall."),
    ("¿cuántas cámaras distintas vieron una caída esta semana?", "2 cámaras distintas tuvieron eventos de tipo Fall "
                                                                "esta semana: garden, porch."),
    ("¿promedio de caídas por día en los últimos 3 días?", "De media, 2,33 (redondeado a 2 decimales) eventos de "
                                                           "tipo Fall por día en los últimos 3 días"),
    ("gab es gestern mehr Stürze als vorgestern?", "Nein, weniger: 1 Ereignis vom Typ Fall gestern, gegenüber 3"),
    ("welcher Anteil der heutigen Ereignisse waren Stürze?", "75 % von 4 Ereignisse heute: 3 davon"),
    ("wie viele verschiedene Kameras haben diese Woche einen Sturz gesehen?", "2 verschiedene Kameras hatten "
                                                                             "Ereignisse vom Typ Fall diese Woche"),
    ("durchschnittlich wie viele Stürze pro Tag in den letzten 3 Tagen?", "Im Schnitt 2,33 (auf 2 Dezimalstellen "
                                                                          "gerundet) Ereignisse vom Typ Fall pro Tag"),
])
def test_measures_are_answered_in_the_questions_language(assistant: Assistant, question: str, expected: str) -> None:
    t = assistant.ask(question)
    assert t.outcome == "answered" and expected in t.answer, (t.answer, t.reading)
    assert t.llm.calls == 0


def test_language_is_on_the_query(assistant: Assistant) -> None:
    t = assistant.ask("¿cuántas caídas hubo ayer?")
    assert t.reading is not None and t.reading["lang"] == "es"
    assert t.tool_calls[-1].args["lang"] == "es"


def test_a_script_the_reader_does_not_know_is_refused_without_the_model(assistant: Assistant) -> None:
    with pytest.raises(EdgekitError, match="script the assistant does not read"):  # one line, before any model
        assistant.ask("今日は何回転倒しましたか")


def test_a_figure_that_needs_rounding_says_so() -> None:
    assert figure(2 / 3) == {"value": 0.67, "rounded": True, "digits": 2}
    assert figure(0.75) == {"value": 0.75, "rounded": False}
    assert figure(3.0) == {"value": 3, "rounded": False}
