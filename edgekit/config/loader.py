"""The one YAML loader: a file (or text) into a pydantic model, ``{ENV}`` placeholders filled from the environment
(``edgekit.config.env``), and every error one line that names the file, the YAML line and the field.

Used by the daemon config, the hub config, device profiles, model cards and export recipes.

Examples:
    >>> from pydantic import BaseModel, ConfigDict
    >>> class Box(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     size: int
    >>> parse_yaml_model("size: 3\\n", Box, "box.yaml", "box").size
    3
    >>> parse_yaml_model("size: 3\\ncolour: red\\n", Box, "box.yaml", "box")
    Traceback (most recent call last):
    ...
    edgekit.errors.EdgekitError: invalid box box.yaml:2: colour: unknown key 'colour'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from edgekit.config.env import MissingEnv, env_names, fill_env
from edgekit.errors import EdgekitError
from edgekit.paths import data_dir

M = TypeVar("M", bound=BaseModel)


def dotted(loc: tuple[Any, ...] | list[Any]) -> str:
    """A location as ``cameras.front.max_fps``; a key with spaces, dots or control characters in it is quoted
    (``cameras.'\\n  '``), so the error stays one line."""
    return ".".join(str(p) if re.fullmatch(r"[\w\-:/{}$]*", str(p)) else repr(p) for p in loc)


def format_validation_error(e: ValidationError) -> str:
    """Pydantic's errors as one line: ``field.path: message; ...``."""
    parts = []
    for err in e.errors():
        loc = dotted(err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def first_error(e: ValidationError, hint: str = "") -> tuple[tuple[Any, ...], str]:
    """Where the first error of a validation is, and what it says in a config error's words (no pydantic prefix;
    ``unknown key 'x'``, followed by ``hint``)."""
    err = e.errors()[0]
    loc = tuple(err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = f"unknown key {loc[-1]!r}" + (f" ({hint})" if hint else "")
    return loc, msg


def line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based YAML line of the node at a (pydantic) location, or of its nearest parent that exists.

    >>> line_of(yaml.compose("a:\\n  b: [1, 2]\\n  c: 3\\n"), ("a", "c"))
    3
    """
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return line


def _parse(text: str, name: str) -> tuple[Any, yaml.Node | None]:
    """The YAML tree and its nodes (for line numbers); bad YAML is one line with its line."""
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise EdgekitError(f"invalid YAML in {name}{at}: {problem}") from None


def yaml_env_names(text: str, name: str) -> list[str]:
    """The environment variables loading YAML ``text`` (from ``name``) reads: its ``{NAME}`` placeholders, found
    by the walk that fills them."""
    return env_names(_parse(text, name)[0])


def parse_yaml_model(text: str, model: type[M], name: str, what: str, extra: dict[str, Any] | None = None,
                     hint: str = "", environ: Mapping[str, str] | None = None) -> M:
    """Validate YAML ``text`` (from ``name``) as ``model``; ``extra`` adds fields that are not in the file;
    ``{NAME}`` placeholders are filled from ``environ`` (default ``os.environ``; the rule: ``edgekit.config.env``).

    Raises ``EdgekitError``: ``invalid YAML in NAME:LINE: …`` or ``invalid WHAT NAME:LINE: field: message``
    (the first problem, with ``(+N more)``); ``hint`` follows an unknown key.
    """
    raw, root = _parse(text, name)
    if not isinstance(raw, dict):
        raise EdgekitError(f"invalid {what} {name}: expected a mapping at the top level")
    try:
        raw = fill_env(raw, environ)
    except MissingEnv as e:
        raise EdgekitError(f"invalid {what} {name}:{line_of(root, e.loc)}: {dotted(e.loc)}: {e}") from None
    try:
        return model.model_validate({**raw, **(extra or {})})
    except ValidationError as e:
        loc, msg = first_error(e, hint)
        where = dotted(loc) or "(top level)"
        more = f" (+{e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise EdgekitError(f"invalid {what} {name}:{line_of(root, loc)}: {where}: {msg}{more}") from None


def load_yaml_model(path: Path, model: type[M], what: str, extra: dict[str, Any] | None = None,
                    hint: str = "") -> M:
    """Read ``path`` and validate it as ``model`` (see :func:`parse_yaml_model`)."""
    return parse_yaml_model(read_text(path, what), model, str(path), what, extra, hint)


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of ``path``, or one ``EdgekitError`` line naming ``what`` it is and why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EdgekitError(f"{what} {path} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise EdgekitError(f"cannot read {what} {path}: {e}") from None


def bundled_names(folder: str) -> list[str]:
    """Names (file stems) of the YAML files bundled in data folder ``folder``, sorted."""
    return sorted(p.stem for p in data_dir(folder).glob("*.yaml"))


def bundled_path(name_or_path: str | Path, folder: str, what: str) -> Path:
    """A YAML path as given, or the bundled ``<folder>/<name>.yaml``; an unknown name lists the known ones."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return path
    path = data_dir(folder) / f"{name_or_path}.yaml"
    if not path.is_file():
        raise EdgekitError(f"unknown {what} {str(name_or_path)!r}; known: {', '.join(bundled_names(folder))}")
    return path
