"""Spanish and German question words, rewritten into the English the reader reads.

A stand-in until the reader reads those languages itself (it is a rule table; this is one too): each row is a
pattern in the question's language and the English words it means. Rows run in order, longer phrases first; words
no row knows (camera, label and rule names, numbers, clock times) pass through unchanged, so names are still
matched against the store. Words that carry no meaning for a query ("hubo", "gab es") are dropped. The answer is
still written in the question's language (:mod:`edgekit.assistant.phrasebook`); only the reading goes through English.
"""

from __future__ import annotations

import re

_Rows = tuple[tuple[str, str], ...]

_ES: _Rows = (
    (r"¿|\?|¡|!", " "),
    (r"\b(?:nueva pregunta|empecemos de nuevo)\b", "new question"),
    (r"^\W*(?:hola|buenas|buenos d[ií]as|buenas tardes|buenas noches)\W*$", "hello"),
    (r"^\W*(?:muchas )?gracias\W*$", "thanks"),
    (r"\by (?:qué tal|que tal)\b|\bqué tal\b|\by (?:en|con|sobre)\b", "what about"),
    (r"^\s*y\b", "and"),
    (r"\bcuál(?:es)? de (?:ellos|ellas|esos|esas|estos|estas)\b", "which of them"),
    (r"\bsolo\b|\bsólo\b|\bsolamente\b|\bunicamente\b|\búnicamente\b", "only"),
    (r"\bcu[aá]nt[oa]s\b|\bqu[eé] cantidad de\b|\bn[uú]mero de\b", "how many"),
    (r"\bcu[aá]ndo\b", "when"),
    (r"\bqu[eé] c[aá]mara\b|\bcu[aá]l c[aá]mara\b", "which camera"),
    (r"\bqu[eé] (?=eventos|detecciones|ca[ií]das|alertas)", "which "),  # "qué eventos hubo": a list
    (r"\bqu[eé] pas[oó]\b|\bqu[eé] ha pasado\b", "what happened"),
    (r"\ben las [uú]ltimas (\d+) horas\b", r"in the last \1 hours"),
    (r"\ben los [uú]ltimos (\d+) d[ií]as\b", r"in the last \1 days"),
    (r"\ben los [uú]ltimos (\d+) minutos\b", r"in the last \1 minutes"),
    (r"\ben la [uú]ltima hora\b", "in the last hour"),
    (r"\bantes de ayer\b|\banteayer\b", "the day before yesterday"),
    (r"\besta semana\b", "this week"),
    (r"\bla semana pasada\b|\bsemana pasada\b", "last week"),
    (r"\bel mes pasado\b|\bmes pasado\b", "last month"),
    (r"\besta mañana\b", "this morning"),
    (r"\besta tarde\b", "this afternoon"),
    (r"\banoche\b", "last night"),
    (r"\bhoy\b", "today"),
    (r"\bayer\b", "yesterday"),
    (r"\bdesde las (\d{1,2}(?::\d\d)?)\b", r"since \1"),
    (r"\bentre las (\d{1,2}(?::\d\d)?) y las (\d{1,2}(?::\d\d)?)\b", r"between \1 and \2"),
    (r"\b[uú]ltim[oa]s?\b", "last"),
    (r"\bprimer[oa]?s?\b", "first"),
    (r"\bm[aá]s\b", "most"),
    (r"\bmenos\b", "fewest"),
    (r"\bca[ií]das?\b", "falls"),
    (r"\btemperatura\b", "temperature"),
    (r"\bfotogramas por segundo\b|\bim[aá]genes por segundo\b", "fps"),
    (r"\bde (?:ellos|ellas|esos|esas)\b", "of them"),
    (r"\beventos?\b|\bdetecciones\b|\bdetecci[oó]n\b", "events"),
    (r"\balertas?\b", "alerts"),
    (r"\b(?:(?:en|de|desde) )?(?:la |el )?c[aá]mara ([\w-]+)", r"on the \1 camera"),
    (r"\bc[aá]maras?\b", "camera"),
    (r"\blista(?:me)?\b|\bmu[eé]strame\b|\bmuestra\b|\benumera\b", "list"),
    (r"\b(?:en|de)\s+(?:la|el)\b", "on the"),
    (r"\b(?:hubo|hay|ha|han|habido|fue|fueron|se|registr[oó]|registraron|detect[oó]|detectaron|el|la|los|las|"
     r"del|de|en|un|una|qu[eé]|cu[aá]l)\b", " "),
)

_DE: _Rows = (
    (r"\?|!", " "),
    (r"\bneue frage\b|\bnochmal von vorne\b", "new question"),
    (r"^\W*(?:hallo|guten (?:morgen|tag|abend))\W*$", "hello"),
    (r"^\W*(?:vielen )?danke(?: sch[öo]n)?\W*$", "thanks"),
    (r"\bund (?:was ist mit|wie ist es mit|wie sieht es mit)\b|\bwas ist mit\b|\bwie sieht es (?:mit|bei)\b",
     "what about"),
    (r"^\s*und\b", "and"),
    (r"\bwelche davon\b|\bwelche von (?:ihnen|diesen|denen)\b", "which of them"),
    (r"\bnur\b|\blediglich\b", "only"),
    (r"\bwie viele\b|\bwie oft\b|\banzahl (?:der|an)\b", "how many"),
    (r"\bwann\b", "when"),
    (r"\bwelche kamera\b", "which camera"),
    (r"\bwelche (?=ereignisse|erkennungen|st[üu]rze|alarme|meldungen)", "which "),  # "welche Ereignisse": a list
    (r"\bwas ist passiert\b|\bwas war los\b|\bwas geschah\b", "what happened"),
    (r"\bin den letzten (\d+) stunden\b", r"in the last \1 hours"),
    (r"\bin den letzten (\d+) tagen\b", r"in the last \1 days"),
    (r"\bin den letzten (\d+) minuten\b", r"in the last \1 minutes"),
    (r"\bin der letzten stunde\b", "in the last hour"),
    (r"\bvorgestern\b", "the day before yesterday"),
    (r"\bdiese woche\b|\bdieser woche\b", "this week"),
    (r"\b(?:letzte|letzten|vergangene|vergangenen|vorige|vorigen) woche\b", "last week"),
    (r"\b(?:letzten|vergangenen|vorigen) monat\b", "last month"),
    (r"\bheute (?:morgen|fr[üu]h|vormittag)\b", "this morning"),
    (r"\bheute nachmittag\b", "this afternoon"),
    (r"\bverschiedene[nr]?\b|\bunterschiedliche[nr]?\b", "different"),
    (r"\bheute\b", "today"),
    (r"\bgestern\b", "yesterday"),
    (r"\bseit (\d{1,2}(?::\d\d)?)(?: uhr)?\b", r"since \1"),
    (r"\bzwischen (\d{1,2}(?::\d\d)?) und (\d{1,2}(?::\d\d)?)(?: uhr)?\b", r"between \1 and \2"),
    (r"\bletzte[nrs]?\b|\bj[üu]ngste[nrs]?\b", "last"),
    (r"\berste[nrs]?\b", "first"),
    (r"\bam meisten\b|\bdie meisten\b|\bmeisten\b", "most"),
    (r"\bam wenigsten\b|\bdie wenigsten\b|\bwenigsten\b", "fewest"),
    (r"\bst[üu]rze\b|\bsturz\b|\bst[üu]rzen\b", "falls"),
    (r"\btemperatur\b", "temperature"),
    (r"\bbilder pro sekunde\b", "fps"),
    (r"\bdavon\b", "of them"),
    (r"\bereignisse[n]?\b|\bereignis\b|\berkennungen\b", "events"),
    (r"\bmeldungen\b|\bwarnungen\b|\balarme\b", "alerts"),
    (r"\b(?:(?:auf|an|bei|in|von) )?(?:der |dem |die )?kamera ([\w-]+)", r"on the \1 camera"),
    (r"\bkameras?\b", "camera"),
    (r"\bliste\b|\bliste auf\b|\bzeig(?:e)?(?: mir)?\b", "list"),
    (r"\b(?:auf|an|bei|in) (?:der|dem|die)\b", "on the"),
    (r"\b(?:auf|an|bei|beim|vom|von)\b", "on"),
    (r"\b(?:gab es|gibt es|gab|gibt|es|wurden|wurde|war|waren|ist|sind|erkannt|der|die|das|den|dem|des|ein|eine|"
     r"einen|welche[rs]?|im|am)\b", " "),
)

_ROWS = {"es": tuple((re.compile(p, re.IGNORECASE), r) for p, r in _ES),
         "de": tuple((re.compile(p, re.IGNORECASE), r) for p, r in _DE)}


def to_reader_english(question: str, lang: str) -> str:
    """``question`` (in ``lang``) with the words of the tables above rewritten into English; English as it is.

    Examples:
        >>> to_reader_english("¿Cuántas caídas hubo hoy?", "es")
        'how many falls today'
        >>> to_reader_english("Wann war der letzte Sturz auf der Kamera porch?", "de")
        'when last falls on the porch camera'
    """
    rows = _ROWS.get(lang)
    if rows is None:
        return question
    text = question
    for pattern, english in rows:
        text = pattern.sub(english, text)
    return " ".join(text.split())
