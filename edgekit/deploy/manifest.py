"""The bundle format: a gzipped tar whose ``manifest.json`` lists every other member with its sha256.

Layout of a bundle (paths inside the tar, no leading folder; a board unpacks it into ``releases/<id>/``)::

    manifest.json                 this schema (``Manifest``); not listed in its own ``files``
    config.yaml                   the daemon config, as given (secrets stay ``{ENV}`` placeholders)
    edgekit.env.example           env-file template: every variable the config uses, values empty
    edgekit.service               systemd unit (paths relative to the board user's home, ``%h/edgekit``)
    mosquitto/edgekit-bridge.conf the board's Mosquitto bridge to the central broker (only with ``bridge:``)
    requirements.lock             pip lock for the board: ``name==version --hash=sha256:...`` per line
    wheels/*.whl                  the locked wheels for the board's platform, plus edgekit's own wheel
    cache/exports/<sha>/...       the model the profile runs (the board copies it into its cache, where the
                                  runtime plan finds it), and the tuned plan's model when one ships
    plans/<profile>--<model>.json the tuned plan (``edgekit tune``'s winner) for this profile and model, its
                                  ``artifact`` relative to the release; ``plan`` describes it (only when one ships)

A consumer (``edgekit deploy``, an Ansible role) checks ``format``, then every ``files`` entry against the tar,
then installs ``requirements.lock`` with ``pip install --no-index --find-links wheels --require-hashes`` and
``wheels/<edgekit_wheel>`` with ``--no-deps`` into a venv made ``--system-site-packages`` when
``target.system_site_packages`` is true. ``id`` is stable for the same content, so a release folder name says
which bundle it came from.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

FORMAT = "edgekit-bundle/1"
MANIFEST = "manifest.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileEntry(_Strict):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class Target(_Strict):
    """The board the bundle's wheels are for."""

    platform: str = Field(description="pip platform tag, e.g. manylinux2014_aarch64")
    machine: str = Field(description="uname -m of the board, e.g. aarch64")
    python: str = Field(description="CPython major.minor of the board's system Python, e.g. 3.11")
    system_site_packages: bool = Field(
        description="The venv sees the system's packages (picamera2, JetPack OpenCV/TensorRT): numpy stays 1.x "
        "and OpenCV comes from the system"
    )
    excluded: list[str] = Field(default_factory=list, description="Dependencies left to the system's packages")


class ModelEntry(_Strict):
    card: str
    file: str = Field(description="Path inside the bundle")
    backend: str = Field(description="Backend the profile asks for")
    precision: str = Field(description="Precision of the bundled file")
    note: str = ""


class PlanEntry(_Strict):
    """The tuned plan a bundle ships: the board uses it when it runs on the CPU it was tuned on."""

    file: str = Field(description="The plan inside the bundle: plans/<profile>--<model>.json")
    artifact: str = Field(description="The model file it runs, inside the bundle (relative to the release)")
    summary: str = Field(description="Runtime, precision, input size, threads, spinning and speed, as tune measured")
    cpu: str = Field(description="The CPU it was tuned on (another CPU ignores it and runs the profile's defaults)")
    source: str = Field(description="Where it was taken from: --plan FILE or the user's plan store")


class Manifest(_Strict):
    """``manifest.json`` of a bundle (schema version ``format``)."""

    format: str = FORMAT
    id: str = Field(pattern=r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$", description="<UTC build time>-<content hash>")
    created: str
    profile: str
    device: str = Field(description="The config's device name (each board overrides it: EDGEKIT_DEVICE)")
    edgekit_version: str
    edgekit_wheel: str = Field(description="Path of edgekit's wheel inside the bundle")
    target: Target
    model: ModelEntry
    config: str = "config.yaml"
    env_template: str = "edgekit.env.example"
    env_vars: list[str] = Field(default_factory=list, description="Variables the board's env file must set")
    unit: str = "edgekit.service"
    bridge: str | None = Field(None, description="Mosquitto bridge file (a conf.d fragment) when the config has a "
                               "`bridge:` section; {NAME} placeholders for the board's device name and password, "
                               "filled from its env file when the deploy installs it")
    plan: PlanEntry | None = Field(None, description="The tuned plan it ships (None: none ships, see plan_note)")
    plan_note: str = Field("", description="Why no tuned plan ships, when none does")
    lock: str = "requirements.lock"
    packages: dict[str, str] = Field(default_factory=dict, description="Locked distributions: name → version")
    files: dict[str, FileEntry]


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def entry_for(path: Path) -> FileEntry:
    return FileEntry(sha256=sha256_of(path), size=path.stat().st_size)
