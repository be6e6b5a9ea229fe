"""Where the data folders (devices/, models/, export/) live: a checkout or an installed wheel."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The folder ``name`` (``devices``, ``models`` or ``export``).

    An installed wheel carries them as ``edgekit/_data/<name>``; a checkout (editable install) has them at the
    repository root next to the package.
    """
    for cand in (_PKG / "_data" / name, _PKG.parent / name):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(f"edgekit data folder {name!r} not found next to {_PKG}")


def cache_dir() -> Path:
    """Per-user cache for fetched models and build artifacts (``$EDGEKIT_CACHE`` or ``~/.cache/edgekit``)."""
    root = os.environ.get("EDGEKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "edgekit"
    )
    p = Path(root)
    p.mkdir(parents=True, exist_ok=True)
    return p


def state_dir() -> Path:
    """Where the daemon keeps its outbox, event store and snapshots (``$EDGEKIT_STATE`` or ``~/.local/state``)."""
    root = os.environ.get("EDGEKIT_STATE") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "edgekit"
    )
    p = Path(root)
    p.mkdir(parents=True, exist_ok=True)
    return p
