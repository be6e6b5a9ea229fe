"""Live stats of the daemon as a typed value, and its file ``state_dir()/stats.json``.

:class:`DaemonStats` is what the daemon reports (the stats file, the ``stats`` topic, ``/metrics``, ``/healthz``)
and what the assistant reads back. :func:`write_stats` is the only writer of the file (atomic: a reader never sees
half of it); :func:`read_stats` validates it into the same type. Unknown keys are kept, so an older reader still
reads a newer file.

Examples:
    >>> s = DaemonStats(ts=1.0, cameras={"gate": CameraReport(process_fps=7.5, dropped=3)})
    >>> DaemonStats.model_validate_json(s.to_json()).cameras["gate"].dropped
    3
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgekit.paths import state_dir

STATS_FILENAME = "stats.json"


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class RuntimeInfo(_Open):
    """What a camera's detector really runs (the runtime plan): model file, input size, precision, backend."""

    model: str = ""
    input_size: tuple[int, int] | None = None
    precision: str = ""
    backend: str = ""
    providers: list[str] = Field(default_factory=list)
    substitutions: list[str] = Field(default_factory=list)
    tuned: str = ""
    """The host's tuned plan in use (``edgekit tune``), or why the one found was ignored; empty: none."""


class CameraCounters(_Open):
    """What a camera worker counts as it runs; its report carries them as they are (one type, no mapping)."""

    captured: int = 0
    processed: int = 0
    dropped: int = 0
    events: int = 0
    reconnects: int = 0
    max_lag_frames: int = 0
    last_error: str = ""
    rate_warnings: list[str] = Field(default_factory=list)
    """Rules this camera is processed too slowly for (edgekit.tracking.rate), one line each."""
    motion_skipped: int = 0
    """Frames the motion gate kept from the detector."""

    def counters(self) -> dict[str, Any]:
        """The counters alone (a subclass's own fields left out), to build a report from."""
        return {name: getattr(self, name) for name in CameraCounters.model_fields}


class CameraReport(CameraCounters):
    """One camera's live figures: its counters, rates over the last interval, and what it runs."""

    capture_fps: float = 0.0
    process_fps: float = 0.0
    stage_ms: dict[str, float] = Field(default_factory=dict)
    status: str = "ok"
    runtime: RuntimeInfo | None = None
    clips: int = 0
    """Event clips written since start."""
    clip_frames_dropped: int = 0
    """Frames the clip encoder could not keep up with."""
    rules_off: list[str] = Field(default_factory=list)
    """Rules switched off over MQTT, one line each: which, since when, by what kind of message."""


class MqttReport(_Open):
    """The broker link: connected, outbox backlog, message counters."""

    connected: bool = False
    pending: int = 0
    published: int = 0
    acked: int = 0
    malformed: int = 0
    connects: int = 0
    disconnects: int = 0
    callback_errors: int = 0
    refused: int = 0
    last_error: str = ""


class StorageReport(_Open):
    """The state folder: free space, snapshot volume, and what retention deleted (``kind:reason`` → count)."""

    free_mb: float | None = None
    snapshots_mb: float = 0.0
    clips_mb: float = 0.0
    deleted: dict[str, int] = Field(default_factory=dict)


class DaemonStats(_Open):
    """The daemon's live stats."""

    ts: float = Field(default_factory=time.time)
    device: str = ""
    cameras: dict[str, CameraReport] = Field(default_factory=dict)
    cpu_temp_c: float | None = None
    rss: int = 0
    mqtt: MqttReport | None = None
    storage: StorageReport | None = None
    assistant: dict[str, Any] | None = None  # the assistant's request analytics (edgekit.assistant.analytics)
    uploads: dict[str, Any] | None = None  # the S3 upload queue (edgekit.storage.S3Uploader.stats)
    version: str = Field(default_factory=lambda: _version())  # the fleet's status shows who runs what

    def to_json(self) -> str:
        return self.model_dump_json()

    def camera_dicts(self) -> dict[str, dict[str, Any]]:
        """The cameras as plain JSON-ready dicts (for tools and printing)."""
        return {k: v.model_dump(mode="json") for k, v in self.cameras.items()}


def _version() -> str:
    from edgekit import __version__

    return __version__


def default_stats_path() -> Path:
    """Where the daemon writes its live stats."""
    return state_dir() / STATS_FILENAME


def write_stats(path: Path, stats: DaemonStats) -> None:
    """Replace the stats file atomically (write a temporary file, then rename), so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".stats-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(stats.to_json())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_stats(path: Path) -> DaemonStats:
    """The stats file as :class:`DaemonStats`; raises ``ValueError`` naming what is wrong."""
    try:
        text = path.read_text()
    except FileNotFoundError as e:
        raise ValueError(f"no live stats at {path}: the daemon is not running") from e
    except OSError as e:
        raise ValueError(f"live stats file {path} is unreadable: {e}") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"live stats file {path} is unreadable: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("cameras"), dict):
        raise ValueError(f"live stats file {path} has no 'cameras' mapping")
    try:
        return DaemonStats.model_validate(data)
    except ValidationError as e:
        raise ValueError(f"live stats file {path} is unreadable: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from e
