"""The live stats file the daemon writes and the assistant reads: ``state_dir()/stats.json``.

Format (agreed with the daemon)::

    {"ts": 1730000000.0,
     "cameras": {"cam1": {"capture_fps": 29.8, "process_fps": 8.1, "dropped": 12,
                          "stage_ms": {"pre": 3.1, "infer": 110.2, "post": 1.4}}}}

Extra keys per camera are kept as they are.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from edgekit.paths import state_dir

STATS_FILENAME = "stats.json"


def default_stats_path() -> Path:
    """Where the daemon writes its live stats."""
    return state_dir() / STATS_FILENAME


def write_stats(path: Path, cameras: dict[str, dict[str, Any]], ts: float | None = None) -> None:
    """Replace the stats file atomically (write a temporary file, then rename), so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"ts": time.time() if ts is None else ts, "cameras": cameras}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".stats-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_stats(path: Path) -> dict[str, Any]:
    """The stats file as a dict with ``ts`` and ``cameras``; raises ``ValueError`` naming what is wrong."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ValueError(f"no live stats at {path}: the daemon is not running") from e
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"live stats file {path} is unreadable: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("cameras"), dict):
        raise ValueError(f"live stats file {path} has no 'cameras' mapping")
    return data
