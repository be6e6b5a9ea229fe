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


def config_dir() -> Path:
    """The operator's own settings, e.g. the bundle signing key (``$EDGEKIT_CONFIG`` or ``~/.config/edgekit``)."""
    root = os.environ.get("EDGEKIT_CONFIG") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "edgekit"
    )
    p = Path(root)
    private_dir(p)
    return p


def state_dir() -> Path:
    """Where the daemon keeps its outbox, event store and snapshots (``$EDGEKIT_STATE`` or ``~/.local/state``).

    Made (and kept) mode 0700: snapshots show people, and the outbox holds alerts not yet delivered.
    """
    root = os.environ.get("EDGEKIT_STATE") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "edgekit"
    )
    p = Path(root)
    private_dir(p)
    return p


def private_dir(p: Path) -> None:
    """Make ``p`` (and parents) and keep it mode 0700; a shared folder (sticky, like /tmp, or not ours) is left as
    it is."""
    p.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = p.stat()
    if st.st_mode & 0o077 and not st.st_mode & 0o1000 and st.st_uid == os.getuid():
        p.chmod(0o700)
