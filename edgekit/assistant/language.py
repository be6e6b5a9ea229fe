"""Which language a question is in, and whether its script is one the reader reads at all.

:func:`question_language` is the one function the rest of the assistant asks: the answer is written in the
language it returns ("en", "es" or "de"). It counts small function words (the words every sentence has, whatever
it is about) and the letters only one of the languages uses; a question with no sign of Spanish or German is
English, so camera names and typos never make a question "foreign".

:func:`unknown_script` refuses what no reader here can read (Chinese, Arabic, Cyrillic, …) before any model is
loaded: the reader's rules are Latin-script words, so such a question could only be guessed at.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

LANGS = ("en", "es", "de")

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: function words per language (lower case, accents kept); ties and no hits are English
_MARKERS: dict[str, frozenset[str]] = {
    "es": _words("""cuántos cuántas cuantos cuantas cuándo cuando cuál cuáles qué hubo hay ha han habido fue fueron
        el la los las del al en de y o con por para desde hasta entre hoy ayer anteayer semana últimas últimos
        última último primera primero cámara cámaras caídas caída eventos evento alertas ellos ellas cuáles solo
        sólo sobre esta este día días horas hora minutos hola gracias buenos"""),
    "de": _words("""wie viele wann welche welcher welches gab gibt es der die das den dem des und oder mit von
        vom im am auf an seit bis zwischen heute gestern vorgestern woche letzten letzte letzter erste ersten
        kamera kameras stürze sturz ereignisse ereignis meldungen davon nur stunden stunde minuten tagen tag
        diese dieser wurde wurden war waren ist sind hallo danke guten"""),
    "en": _words("""how many when which what was were is are the a an of on in at and or with from since until
        between today yesterday week last first camera cameras falls fall events event alerts them those only
        hours hour minutes days day there did"""),
}
_LETTERS = {"es": "ñ¿¡áéíóú", "de": "äöüß"}
_WORD = re.compile(r"[^\W\d_]+")


def question_language(text: str, default: str = "en") -> str:
    """"en", "es" or "de": the language a question is in (English unless Spanish or German clearly wins;
    ``default`` when the question has no sign of any language, e.g. "porch?" in a conversation held in German).

    Examples:
        >>> question_language("¿Cuántas caídas hubo hoy?"), question_language("Wie viele Stürze gab es gestern?")
        ('es', 'de')
        >>> question_language("how mny falls todya"), question_language("falls on the porch?")
        ('en', 'en')
        >>> question_language("porch?", default="de")
        'de'
    """
    low = text.lower()
    words = _WORD.findall(low)
    score = {lang: sum(w in markers for w in words) for lang, markers in _MARKERS.items()}
    for lang, letters in _LETTERS.items():
        score[lang] += 2 * sum(low.count(c) for c in letters)
    if not any(score.values()):
        return default
    best = max(("es", "de"), key=lambda lang: score[lang])
    return best if score[best] > score["en"] else "en"


def _script(ch: str) -> str:
    """The script of a letter as Unicode names it: "LATIN", "CYRILLIC", "ARABIC", "CJK", "HIRAGANA", …"""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def unknown_script(text: str) -> str | None:
    """The script most of the question's letters are in, when it is not Latin (None: the reader can read it).

    A few foreign letters (a camera called "кухня" in an English question) do not refuse a question; a question
    mostly in another script does.

    Examples:
        >>> unknown_script("今天有多少次跌倒？"), unknown_script("сколько падений сегодня?")
        ('CJK', 'CYRILLIC')
        >>> unknown_script("¿Cuántas caídas hubo hoy?") is None, unknown_script("falls on кухня today?") is None
        (True, True)
    """
    letters = [_script(ch) for ch in text if ch.isalpha()]
    if not letters:
        return None
    foreign = [s for s in letters if s != "LATIN"]
    if 2 * len(foreign) <= len(letters):
        return None
    return Counter(foreign).most_common(1)[0][0]  # a tie: the script met first


def decimal(value: float | int | str, lang: str) -> str:
    """A figure as ``lang`` writes it: a decimal comma in Spanish and German ("6,5"), a point in English.

    Examples:
        >>> decimal("6.5", "de"), decimal(12, "es"), decimal("6.5", "en"), decimal("09:45", "de")
        ('6,5', '12', '6.5', '09:45')
    """
    text = str(value)
    return re.sub(r"(?<=\d)\.(?=\d)", ",", text) if lang in ("es", "de") else text
