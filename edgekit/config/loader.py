"""Load a YAML file into a pydantic model, with one-line errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from edgekit.errors import EdgekitError
from edgekit.paths import data_dir

M = TypeVar("M", bound=BaseModel)


def format_validation_error(e: ValidationError) -> str:
    """Pydantic's errors as one line: ``field.path: message; ...``."""
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def load_yaml_model(path: Path, model: type[M], what: str, extra: dict[str, Any] | None = None) -> M:
    """Parse ``path`` as a YAML mapping and validate it as ``model``; ``extra`` adds fields not in the file.

    Raises ``EdgekitError`` (``invalid YAML in …`` / ``invalid <what> <path>: field: message``).
    """
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise EdgekitError(f"invalid YAML in {path}: {str(e).splitlines()[0]}") from e
    if not isinstance(raw, dict):
        raise EdgekitError(f"invalid {what} {path}: expected a mapping at the top level")
    try:
        return model.model_validate({**raw, **(extra or {})})
    except ValidationError as e:
        raise EdgekitError(f"invalid {what} {path}: {format_validation_error(e)}") from e


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
