"""``{NAME}`` placeholders in config values, filled from the environment: the one rule for every config (daemon,
hub, device profiles, model cards, export recipes) and for the bundle's list of variables a board needs.

The rule:

- ``NAME`` is an upper-case letter, then upper-case letters, digits and ``_`` (``{MQTT_PASSWORD}``); anything else
  in braces (``{camera}``, ``{x: 1}``) is text.
- A placeholder may sit anywhere inside a string value (``postgresql://hub:{DB_PASSWORD}@db/hub``); keys, comments
  and non-string values are never filled.
- ``${NAME}`` is not a placeholder: it stays as written for the file's consumer (export recipes expand
  ``${EDGEKIT_SHARED}`` themselves, with a default).
- ``{{NAME}}`` is the escape: it becomes the literal text ``{NAME}``.
- A variable that is not set is an error naming it and where it is used; a set, empty one fills in as empty.
  A filled value is never scanned again, so a secret holding ``{X}`` stays as it is.

Examples:
    >>> fill_env({"user": "{DOC_USER}", "keep": ["${SHARED}/data", "{{DOC_USER}}"]}, {"DOC_USER": "alice"})
    {'user': 'alice', 'keep': ['${SHARED}/data', '{DOC_USER}']}
    >>> env_names({"dsn": "postgresql://u:{DB_PW}@h/{DB_NAME}", "port": 1883, "{NOT_A_KEY}": "{{ESCAPED}}"})
    ['DB_NAME', 'DB_PW']
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

NAME = r"[A-Z][A-Z0-9_]*"
# the escape first, so `{{NAME}}` is never read as `{` + a placeholder + `}`
_TOKEN = re.compile(rf"\{{\{{({NAME})\}}\}}|(?<!\$)\{{({NAME})\}}")


class MissingEnv(Exception):
    """A placeholder whose variable is not set: its name and the location (keys and indexes) of its value."""

    def __init__(self, name: str, loc: tuple[Any, ...]) -> None:
        super().__init__(f"environment variable {name} is not set (used as {{{name}}})")
        self.name, self.loc = name, loc


def _walk(value: Any, lookup: Callable[[str, tuple[Any, ...]], str], loc: tuple[Any, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, lookup, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, lookup, (*loc, i)) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _TOKEN.sub(lambda m: f"{{{m.group(1)}}}" if m.group(1) else lookup(m.group(2), loc), value)
    return value


def fill_env(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """``value`` (a parsed YAML tree) with every placeholder filled from ``environ`` (default ``os.environ``);
    raises :class:`MissingEnv` for the first variable that is not set."""
    env = os.environ if environ is None else environ

    def lookup(name: str, loc: tuple[Any, ...]) -> str:
        if name not in env:
            raise MissingEnv(name, loc)
        return env[name]

    return _walk(value, lookup, ())


def env_names(value: Any) -> list[str]:
    """The variables :func:`fill_env` would read for ``value``, sorted (the same walk, recording instead of
    reading)."""
    seen: set[str] = set()

    def record(name: str, loc: tuple[Any, ...]) -> str:
        seen.add(name)
        return ""

    _walk(value, record, ())
    return sorted(seen)


def has_placeholder(value: Any) -> bool:
    """Whether any string in ``value`` holds a placeholder."""
    return bool(env_names(value))


def fill_text(template: str, lookup: Callable[[str], str]) -> str:
    """A text (not YAML: a generated file such as a Mosquitto bridge template) with each placeholder replaced by
    ``lookup(name)``, by the same rule."""
    filled: str = _walk(template, lambda name, _loc: lookup(name), ())
    return filled
