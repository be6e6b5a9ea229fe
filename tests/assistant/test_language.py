"""Languages: which one a question is in, which scripts are refused, and the Spanish and German answers written
from real results of the hand-built eval store (store.yaml, "now" Tuesday 2026-03-10 09:30 +01:00)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.lib.ask_eval import build_store
from edgekit.assistant.agent import Assistant, check_question
from edgekit.assistant.glossary import to_reader_english
from edgekit.assistant.language import decimal, question_language, unknown_script
from edgekit.assistant.phrasebook import TEMPLATES
from edgekit.assistant.tools import ToolBox
from edgekit.errors import EdgekitError
from edgekit.events import EventStore


@pytest.mark.parametrize(("question", "lang"), [
    ("¿Cuántas caídas hubo hoy?", "es"), ("cuantas caidas hubo ayer en el porch", "es"),
    ("¿Qué cámara tuvo más eventos esta semana?", "es"), ("Wie viele Stürze gab es gestern?", "de"),
    ("wann war der letzte sturz", "de"), ("Welche Kamera hatte heute die meisten Ereignisse?", "de"),
    ("how many falls today?", "en"), ("how mny falls todya", "en"), ("falls on the porch?", "en"),
    ("an event on the garage camera", "en"), ("porch", "en"), ("", "en"),
])
def test_the_question_language(question: str, lang: str) -> None:
    assert question_language(question) == lang


@pytest.mark.parametrize(("text", "script"), [
    ("今天有多少次跌倒？", "CJK"), ("كم عدد حالات السقوط اليوم؟", "ARABIC"), ("сколько падений сегодня?", "CYRILLIC"),
    ("きょうはなんかいころびましたか", "HIRAGANA"), ("πόσες πτώσεις σήμερα", "GREEK"),
    ("¿Cuántas caídas hubo hoy?", None), ("Wie viele Stürze?", None), ("falls on кухня today?", None),
    ("12:30?", None),
])
def test_scripts_the_reader_does_not_read(text: str, script: str | None) -> None:
    assert unknown_script(text) == script
    if script is not None:
        with pytest.raises(EdgekitError, match=rf"does not read \({script.lower()}\)"):
            check_question(text)


def test_decimal_comma_only_where_the_language_writes_one() -> None:
    assert (decimal(6.5, "de"), decimal("0.25", "es"), decimal("6.5", "en"), decimal("23:50", "es")) == \
        ("6,5", "0,25", "6.5", "23:50")


def test_every_language_has_every_template() -> None:
    keys = {lang: set(t) for lang, t in TEMPLATES.items()}
    assert keys["es"] == keys["de"]


def test_glossary_rewrites_question_words_and_keeps_names() -> None:
    assert to_reader_english("¿Cuántos eventos hubo en las últimas 3 horas en la cámara porch_2?", "es") == \
        "how many events in the last 3 hours on the porch_2 camera"
    assert to_reader_english("Wie viele Ereignisse gab es seit 8 Uhr auf der Kamera garage?", "de") == \
        "how many events since 8 on the garage camera"
    assert to_reader_english("how many falls?", "en") == "how many falls?"
    # "which events" asks for the events themselves (a list), not their number
    assert to_reader_english("Welche Stürze gab es gestern auf der Kamera garage?", "de") == \
        "which falls yesterday on the garage camera"
    assert to_reader_english("¿Qué eventos hubo ayer?", "es") == "which events yesterday"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    st = build_store(Path(tmp_path_factory.mktemp("lang")))
    store = EventStore(st.events, readonly=True)
    yield Assistant(None, ToolBox(store, st.stats, now=lambda: st.now))
    store.close()


ANSWERS = [
    ("¿Cuántas caídas hubo en las últimas 48 horas?", "En las últimas 48 horas hubo 5 eventos de tipo Fall."),
    ("¿Cuándo fue la última caída?",
     "El último evento de tipo Fall fue a las 09:05 en la cámara garage: Fall (regla fall_alert, pista 33)."),
    ("¿Cuándo fue la primera caída ayer?",
     "El primer evento de tipo Fall ayer fue ayer a las 08:00 en la cámara porch: Fall (regla fall_alert, pista 2)."),
    ("muestra las caídas de ayer", "Ayer hubo 2 eventos de tipo Fall: ayer 23:50 Fall en garage (fall_alert, pista 7); "
                                  "ayer 08:00 Fall en porch (fall_alert, pista 2)."),
    ("¿Qué cámara tuvo menos eventos ayer?", "Las cámaras backyard y garage (empate) tuvieron la menor cantidad de "
                                              "eventos ayer (2). Por cámara: backyard 2, garage 2, porch 3."),
    ("¿cuántos fotogramas por segundo procesa la cámara porch?", "Cámara porch: 7,9 fotogramas/s procesados."),
    ("¿Cuántos elefantes hubo hoy?", "No puedo saberlo a partir de los eventos."),
    ("hola", "Hola. Pregúntame por los eventos de las cámaras («¿cuántas caídas hubo hoy?», «¿cuándo fue la "
             "última caída?») o por sus estadísticas en vivo."),
    ("Wie viele Stürze gab es diese Woche?", "Diese Woche gab es 5 Ereignisse vom Typ Fall."),
    ("Wann war der letzte Sturz auf der Kamera porch?",
     "Das letzte Ereignis vom Typ Fall auf Kamera porch war gestern um 08:00 auf Kamera porch: Fall (Regel "
     "fall_alert, Track 2)."),
    ("Zeig mir die Stürze von gestern", "Gestern gab es 2 Ereignisse vom Typ Fall: gestern 23:50 Fall auf garage "
                                        "(fall_alert, Track 7); gestern 08:00 Fall auf porch (fall_alert, Track 2)."),
    ("Welche Kamera hatte heute die meisten Ereignisse?",
     "Kamera porch hatte heute die meisten Ereignisse (6). Nach Kamera: porch 6, garage 3, backyard 2."),
    ("Wie viele Stürze gab es gestern zwischen 20:00 und 23:00?",
     "Zwischen gestern 20:00 und gestern 23:00 gab es 0 Ereignisse vom Typ Fall."),
]


@pytest.mark.parametrize(("question", "answer"), ANSWERS, ids=[q for q, _ in ANSWERS])
def test_spanish_and_german_answers(assistant: Assistant, question: str, answer: str) -> None:
    t = assistant.ask(question)
    assert t.answer == answer
    assert t.lang == question_language(question) != "en"
