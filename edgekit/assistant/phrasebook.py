"""Answers in Spanish and German: one table of templates per language, filled in by code from the query's result.

The English answers are :mod:`edgekit.assistant.answer`'s (the reference wording); this module writes the same
answers, from the same result, in the question's language. Every number, name and clock time still comes from
the result; figures with a decimal take a decimal comma. The reasons behind a refusal stay in the transcript
(``reading.reason``); the answer says only that the events cannot tell.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from edgekit.assistant.query import Window

#: every sentence of an answer, per language; ``{}`` fields are filled by code
TEMPLATES: dict[str, dict[str, str]] = {
    "es": {
        "count": "{Window} hubo {n} {what}.",
        "none": "{Window} no hubo {what}.",
        "one": "{The} {which} {what1}{span} fue {at} en la cámara {where}: {label} (regla {rule}{track}).",
        "list": "{Window} hubo {n} {what}{shown}: {items}.",
        "shown": ", los {shown} más recientes",
        "item": "{when} {label} en {where} ({rule}{track})",
        "group": "{Leader} {had} la {word} cantidad de {what} {window} ({top}). Por {key}: {rest}.",
        "compare": "{n1} {what} {w1} y {n2} {w2}: {verdict}.",
        "more": "más {w}", "same": "el mismo número", "most": "mayor", "least": "menor",
        "unanswerable": "No puedo saberlo a partir de los eventos.",
        "empty": "Todavía no se ha registrado ningún evento: el almacén de eventos está vacío.",
        "greeting": "Hola. Pregúntame por los eventos de las cámaras («¿cuántas caídas hubo hoy?», «¿cuándo fue la "
                    "última caída?») o por sus estadísticas en vivo.",
        "fresh": "De acuerdo: empezamos de nuevo. ¿Qué quieres saber de los eventos?",
        "stat": "cámara {cam}: {value} {unit}", "no_stat": "cámara {cam}: {field} no está disponible",
        "no_stats": "Las estadísticas en vivo no están disponibles.", "stale": " (las estadísticas tienen {age} s)",
        "status": "la cámara {cam} está {status}", "ok": "{cams} {verb} bien", "ok1": "está", "okn": "están",
        "cpu_temp_c": "La temperatura de la CPU es de {v} °C.", "name": "Este dispositivo es {v}.",
        "load": "La carga media de 1 minuto es {v} en {cores} núcleos.",
        "uptime": "El dispositivo lleva {v} horas encendido.",
        "memory": "El dispositivo tiene libres {free} MB de {total} MB.", "no_device": "No está disponible.",
        "event": "evento", "events": "eventos", "of_label": " de tipo {x}", "on_camera": " en la cámara {x}",
        "on_board": " del equipo {x}", "from_rule": " de la regla {x}", "of_track": " de la pista {x}",
        "track": ", pista {x}", "board_of": "{cam} del equipo {board}",
        "today": "hoy", "yesterday": "ayer", "this_week": "esta semana", "all_time": "en total",
        "last1": "en {the_unit}", "lastn": "en {las} {n} {units}", "on_day": "el {d}",
        "between": "entre {a} y {b}", "since": "desde {a}", "before": "antes de {a}",
        "clock": "{t}", "clock_yesterday": "ayer {t}", "at": "a las {t}", "at_yesterday": "ayer a las {t}",
        "at_date": "el {d} a las {t}",
        "last": "último", "first": "primer", "nth_last": "{nth} más reciente", "nth_first": "{nth} más antiguo",
        "The": "El", "and": "y", "tied": " (empate)", "had": "tuvo", "had_n": "tuvieron",
        "camera": "la cámara {x}", "cameras": "las cámaras {x}", "label": "la etiqueta {x}",
        "labels": "las etiquetas {x}",
        "rule": "la regla {x}", "rules": "las reglas {x}", "hour": "la hora desde las {x}", "hours": "las horas {x}",
        "board": "el equipo {x}", "boards": "los equipos {x}",
        "key_camera": "cámara", "key_label": "etiqueta", "key_rule": "regla", "key_hour": "hora", "key_board": "equipo",
    },
    "de": {
        "count": "{Window} gab es {n} {what}.",
        "none": "{Window} gab es keine {what}.",
        "one": "{The} {which} {what1}{span} war {at} auf Kamera {where}: {label} (Regel {rule}{track}).",
        "list": "{Window} gab es {n} {what}{shown}: {items}.",
        "shown": ", die {shown} neuesten",
        "item": "{when} {label} auf {where} ({rule}{track})",
        "group": "{Leader} {had} {window} die {word} {what} ({top}). Nach {key}: {rest}.",
        "compare": "{n1} {what} {w1} und {n2} {w2}: {verdict}.",
        "more": "mehr {w}", "same": "gleich viele", "most": "meisten", "least": "wenigsten",
        "unanswerable": "Das kann ich aus den Ereignissen nicht ablesen.",
        "empty": "Es wurden noch keine Ereignisse aufgezeichnet: der Ereignisspeicher ist leer.",
        "greeting": "Hallo. Frag mich nach den Ereignissen der Kameras („Wie viele Stürze gab es heute?“, „Wann war "
                    "der letzte Sturz?“) oder nach ihren Live-Statistiken.",
        "fresh": "Gut: wir fangen von vorne an. Was möchtest du über die Ereignisse wissen?",
        "stat": "Kamera {cam}: {value} {unit}", "no_stat": "Kamera {cam}: {field} ist nicht verfügbar",
        "no_stats": "Die Live-Statistiken sind nicht verfügbar.", "stale": " (die Statistiken sind {age} s alt)",
        "status": "Kamera {cam} ist {status}", "ok": "{cams} {verb} in Ordnung", "ok1": "ist", "okn": "sind",
        "cpu_temp_c": "Die CPU-Temperatur beträgt {v} °C.", "name": "Dieses Gerät ist {v}.",
        "load": "Die Last (1 Minute) ist {v} auf {cores} Kernen.", "uptime": "Das Gerät läuft seit {v} Stunden.",
        "memory": "Das Gerät hat {free} MB von {total} MB frei.", "no_device": "Nicht verfügbar.",
        "event": "Ereignis", "events": "Ereignisse", "of_label": " vom Typ {x}", "on_camera": " auf Kamera {x}",
        "on_board": " auf Gerät {x}", "from_rule": " der Regel {x}", "of_track": " von Track {x}",
        "track": ", Track {x}", "board_of": "{cam} von Gerät {board}",
        "today": "heute", "yesterday": "gestern", "this_week": "diese Woche", "all_time": "insgesamt",
        "last1": "in {the_unit}", "lastn": "in den letzten {n} {units}", "on_day": "am {d}",
        "between": "zwischen {a} und {b}", "since": "seit {a}", "before": "vor {a}",
        "clock": "{t}", "clock_yesterday": "gestern {t}", "at": "um {t}", "at_yesterday": "gestern um {t}",
        "at_date": "am {d} um {t}",
        "last": "letzte", "first": "erste", "nth_last": "{nth}letzte", "nth_first": "{nth}e",
        "The": "Das", "and": "und", "tied": " (gleichauf)", "had": "hatte", "had_n": "hatten",
        "camera": "Kamera {x}", "cameras": "Kameras {x}", "label": "Label {x}", "labels": "Labels {x}",
        "rule": "Regel {x}", "rules": "Regeln {x}", "hour": "die Stunde ab {x}", "hours": "die Stunden {x}",
        "board": "Gerät {x}", "boards": "Geräte {x}",
        "key_camera": "Kamera", "key_label": "Label", "key_rule": "Regel", "key_hour": "Stunde", "key_board": "Gerät",
    },
}
#: units of a time window ("the last N ...") and of the live stats fields, per language
UNITS: dict[str, dict[str, tuple[str, str]]] = {
    "es": {"minutes": ("el último minuto", "minutos"), "hours": ("la última hora", "horas"),
           "days": ("el último día", "días"), "weeks": ("la última semana", "semanas")},
    "de": {"minutes": ("der letzten Minute", "Minuten"), "hours": ("der letzten Stunde", "Stunden"),
           "days": ("dem letzten Tag", "Tagen"), "weeks": ("der letzten Woche", "Wochen")},
}
STAT_UNITS: dict[str, dict[str, str]] = {
    "es": {"process_fps": "fotogramas/s procesados", "capture_fps": "fotogramas/s capturados",
           "dropped": "fotogramas descartados", "infer_ms": "ms de inferencia por fotograma",
           "pre_ms": "ms de preprocesado por fotograma", "post_ms": "ms de posprocesado por fotograma",
           "reconnects": "reconexiones", "captured": "fotogramas capturados", "processed": "fotogramas procesados"},
    "de": {"process_fps": "verarbeitete Bilder/s", "capture_fps": "aufgenommene Bilder/s",
           "dropped": "verworfene Bilder", "infer_ms": "ms Inferenz pro Bild", "pre_ms": "ms Vorverarbeitung pro Bild",
           "post_ms": "ms Nachverarbeitung pro Bild", "reconnects": "Neuverbindungen",
           "captured": "aufgenommene Bilder", "processed": "verarbeitete Bilder"},
}
ORDINAL = {"es": {1: "segundo", 2: "tercer", 3: "cuarto", 4: "quinto"},
            "de": {1: "zweit", 2: "dritt", 3: "viert", 4: "fünft"}}


MEASURE: dict[str, dict[str, Any]] = {
    "es": {"yes": "Sí", "no": "No", "a": "más", "b": "menos", "equal": "el mismo número", "against": "frente a",
           "rounded": "(redondeado a {d} decimales)", "per": {"day": ("día", "días"), "hour": ("hora", "horas")},
           "of": {"camera": "cámaras distintas", "label": "etiquetas distintas", "rule": "reglas distintas",
                  "track": "tracks distintos"},
           "average_side": "{v} {what} por {per} {w}", "distinct_side": "{n} {of} con {what} {w}",
           "ratio": "La proporción es {r}: {a} frente a {b}.",
           "no_ratio": "No hay proporción: {b}, así que no hay nada por lo que dividir ({a}).",
           "share": "{p} % de {total} {what} {w}: {part} fueron {part_what}.",
           "average": "De media, {v} {what} por {per} {w} ({total} en {periods} {pers}).",
           "distinct": "{n} {of} tuvieron {what} {w}{names}."},
    "de": {"yes": "Ja", "no": "Nein", "a": "mehr", "b": "weniger", "equal": "gleich viele", "against": "gegenüber",
           "rounded": "(auf {d} Dezimalstellen gerundet)",
           "per": {"day": ("Tag", "Tage"), "hour": ("Stunde", "Stunden")},
           "of": {"camera": "verschiedene Kameras", "label": "verschiedene Labels", "rule": "verschiedene Regeln",
                  "track": "verschiedene Tracks"},
           "average_side": "{v} {what} pro {per} {w}", "distinct_side": "{n} {of} mit {what} {w}",
           "ratio": "Das Verhältnis ist {r}: {a} gegenüber {b}.",
           "no_ratio": "Kein Verhältnis: {b}, es gibt also nichts zu teilen ({a}).",
           "share": "{p} % von {total} {what} {w}: {part} davon {part_what}.",
           "average": "Im Schnitt {v} {what} pro {per} {w} ({total} in {periods} {pers}).",
           "distinct": "{n} {of} hatten {what} {w}{names}."},
}
"""Words for the measures (compare, ratio, share, average, distinct) of :mod:`edgekit.assistant.measures`."""


def phrase(lang: str, name: str, **fields: Any) -> str:
    """One template of ``lang`` filled in."""
    return TEMPLATES[lang][name].format(**fields)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def clock(t: datetime, now: datetime, lang: str, at: bool) -> str:
    """A time as ``lang`` says it relative to ``now`` (``at``: "a las 09:05", else "09:05")."""
    t = t.astimezone(now.tzinfo)
    days = (now.date() - t.date()).days
    hm = f"{t:%H:%M}"
    if days == 0:
        return phrase(lang, "at" if at else "clock", t=hm)
    if days == 1:
        return phrase(lang, "at_yesterday" if at else "clock_yesterday", t=hm)
    return phrase(lang, "at_date", d=f"{t:%Y-%m-%d}", t=hm) if at else f"{t:%Y-%m-%d} {hm}"


def describe_window(w: Window, now: datetime, lang: str) -> str:
    """:meth:`Window.describe` in ``lang``: "hoy", "in den letzten 48 Stunden", "entre 21:00 y ayer 23:00"."""
    if w.name in ("today", "yesterday", "this_week", "all_time"):
        return phrase(lang, w.name)
    if w.name == "last":
        one, many = UNITS[lang][w.unit or "hours"]
        n = w.amount or 1
        if n == 1:
            return phrase(lang, "last1", the_unit=one)
        # Spanish agrees in gender: "los últimos 3 días", "las últimas 3 horas" (German's article does not change)
        las = "las últimas" if one.startswith("la ") else "los últimos"
        return phrase(lang, "lastn", n=n, units=many, las=las)
    since, until = w.bounds(now)
    if since is not None and until is not None:
        if until - since == timedelta(days=1) and since.hour == since.minute == 0:
            return phrase(lang, "on_day", d=f"{since:%Y-%m-%d}")
        return phrase(lang, "between", a=clock(since, now, lang, False), b=clock(until, now, lang, False))
    if since is not None:
        return phrase(lang, "since", a=clock(since, now, lang, False))
    return phrase(lang, "before", a=clock(until, now, lang, False)) if until is not None else phrase(lang, "all_time")


def describe_events(args: dict[str, Any], lang: str, n: int | None = None) -> str:
    """ "eventos de tipo Fall en la cámara garage" (plural unless ``n`` is 1)."""
    text = phrase(lang, "event" if n == 1 else "events")
    for key, part in (("label", "of_label"), ("camera", "on_camera"), ("board", "on_board"), ("rule", "from_rule"),
                      ("track", "of_track")):
        if args.get(key) is not None:
            text += phrase(lang, part, x=args[key])
    return text
