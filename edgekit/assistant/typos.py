"""Typos in a question's keywords and names, corrected before it is read ("how mny falls todya").

Only slips that rarely turn one real word into another are corrected: two neighbouring letters swapped ("todya"),
one letter left out ("mny", "yesterdy") or, in words of five letters or more, one too many ("fallls"); one
letter replaced only in words of six letters or more ("yesterdsy"), or a vowel for a vowel in words of four or
more ("meny"). So "that" never becomes "what", nor "fails" "falls". The vocabulary is the reader's keywords plus
the store's own names. rapidfuzz finds the nearest word; without it installed the question is read as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

#: words the reader's rows key on (English, Spanish, German); the store's names are added per question
_KEYWORD_TEXT = """
how many much what which when where were was there this today yesterday tonight morning afternoon evening night week
weekend month hours hour minutes minute days day last latest first earliest recent between since before after until
falls fall fell fallen events event alerts alert detections detection camera cameras count number list show
average share percent percentage ratio different distinct unique compare more fewer less than excluding except
highest lowest processed captured dropped frames fps temperature memory uptime status people person anything
happened busiest quietest most least
cuántas cuántos caídas caída ayer hoy semana últimos última último cámara cámaras eventos
wie viele gestern heute stürze sturz letzten letzte woche kamera kameras ereignisse
"""
KEYWORDS = frozenset(_KEYWORD_TEXT.split())
#: real words that are one slip away from a keyword ("any" from "many", "fail" from "fall"): never corrected
COMMON = frozenset(re.findall(r"\S+", """
any anyone anybody the did was one see saw seen are has have had get got this that these those its our your you
they them all each every some per ago now just only also out off over under again still ever yet tell give say
let know went come came door gate yard front back side time times who why then from with about into onto near
far same other own both few lot lots too very can could would should will may might must does done been being
fail fails call calls wall hall ball tall tell well will hat mean man men ran run runs once line lines week's
in on at to of is it be by do go if me my no or so up us we am an as he ok weren wasn isn aren didn doesn don
haven hasn won can't
cam cams car cars dog dogs cat cats bike rain hot warm cold sum sums ask asked whats hows wheres
"""))
_VOWELS = "aeiouy"
_WORD = re.compile(r"[^\W\d_]{2,}")


def _fixes(token: str, candidate: str) -> bool:
    """Whether ``candidate`` is ``token`` with one slip of the kinds above undone."""
    n, m = len(token), len(candidate)
    if m == n + 1:
        return True  # a letter left out
    if m == n - 1:
        return n >= 5  # one letter too many
    if m != n:
        return False
    diff = [i for i in range(n) if token[i] != candidate[i]]
    swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and token[diff[0]] == candidate[diff[1]] \
        and token[diff[1]] == candidate[diff[0]]
    vowel = len(diff) == 1 and n >= 4 and token[diff[0]] in _VOWELS and candidate[diff[0]] in _VOWELS  # "meny"
    return swapped or vowel or (len(diff) == 1 and n >= 6)


#: when a slip could be two keywords ("lst": last or list), the one listed first wins
_PRIORITY = {w: i for i, w in enumerate(dict.fromkeys(_KEYWORD_TEXT.split()))}


@lru_cache(maxsize=64)
def _vocabulary(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(KEYWORDS | {n for name in names for n in name.lower().replace("_", " ").split()}))


def _fits(token: str, candidate: str, name: bool) -> bool:
    """A slip worth undoing: not a plural ("frame" is not "frames" misspelt), not a short word made a name
    ("ram" is not the rule "roam")."""
    return _fixes(token, candidate) and token.rstrip("s") != candidate.rstrip("s") and not (name and len(token) < 4) \
        and (len(token) > 2 or len(candidate) == 3)


def correct(q: str, names: Iterable[str] = (), known: Iterable[str] = ()) -> str:
    """``q`` (lower case) with each word that is in neither the vocabulary nor ``known`` (the words of the
    reader's patterns) replaced by the one vocabulary word it is a slip of (unchanged when there is none, or more
    than one)."""
    vocab = _vocabulary(tuple(sorted(names)))
    kept = set(vocab) | COMMON | set(known)
    if all(m.group(0) in kept for m in _WORD.finditer(q)):
        return q  # most questions: nothing to correct, and rapidfuzz is not even imported
    try:
        from rapidfuzz import process
        from rapidfuzz.distance import OSA
    except ImportError:  # the reader works without it, reading the question as written
        return q

    def fix(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in kept:
            return token
        found = process.extract(token, vocab, scorer=OSA.distance, score_cutoff=1, limit=3)
        fits = [c for c, _, _ in found if _fits(token, c, c not in KEYWORDS)]
        words = sorted((c for c in fits if c in KEYWORDS), key=_PRIORITY.__getitem__)
        return fits[0] if len(fits) == 1 else words[0] if len(words) == len(fits) and words else token

    return _WORD.sub(fix, q)
