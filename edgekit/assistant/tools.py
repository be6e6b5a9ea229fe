"""Read-only tools behind the assistant: the event query, live camera stats and device status.

Each returns a JSON-ready dict of named fields with units in the name (``process_fps``, ``infer_ms``,
``cpu_temp_c``, ``rss_mb``); a value the device does not report is ``None`` with ``"available": False`` and a
reason, never a stand-in number. Names that reach a tool were checked against :meth:`ToolBox.known`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from edgekit.assistant.measures import run_measure
from edgekit.assistant.query import MEASURES, EventQuery, run_event_query
from edgekit.contract.stats import read_stats
from edgekit.events import EventReader

STALE_STATS_S = 60.0
#: the tools, for the transcript and the model's schema
TOOLS = ("events", "camera_stats", "device_status")
CAMERA_FIELDS = ("process_fps", "capture_fps", "dropped", "captured", "processed", "infer_ms", "pre_ms", "post_ms",
                 "status", "reconnects")
DEVICE_FIELDS = ("cpu_temp_c", "memory", "load", "uptime", "name")


class ToolCallError(Exception):
    """A tool call named something that does not exist; the message says what does."""


@dataclass
class ToolBox:
    """The tools bound to one event store, stats file and device profile.

    ``host_status`` False: the store is not this machine's (the fleet's, ``edgekit ask --hub``), so device
    questions are not answered with this machine's figures."""

    store: EventReader | None
    stats_path: Path | None = None
    profile: str | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    host_status: bool = True

    # what exists ---------------------------------------------------------------------------------------
    def _group(self, column: str) -> list[str]:
        return sorted(self.store.count_by(column)) if self.store else []

    def labels(self) -> list[str]:
        return self._group("label")

    def rules(self) -> list[str]:
        return self._group("rule")

    def boards(self) -> list[str]:
        """The devices events came from (one on a board's own store, many on the fleet's)."""
        return [b for b in self._group("device") if b]

    def _stats(self) -> dict[str, Any] | None:
        if self.stats_path is None:
            return None
        with contextlib.suppress(ValueError):
            return read_stats(self.stats_path).model_dump(mode="json")  # the typed value, as JSON for the model
        return None

    def cameras(self) -> list[str]:
        """Cameras seen in the store or in the live stats file."""
        names = set(self._group("source"))
        if (s := self._stats()) is not None:
            names |= set(s["cameras"])
        return sorted(names)

    def known(self) -> dict[str, list[str]]:
        return {"camera": self.cameras(), "label": self.labels(), "rule": self.rules(), "board": self.boards()}

    def store_is_empty(self) -> bool:
        return self.store is None or self.store.count() == 0

    # tools ---------------------------------------------------------------------------------------------
    def events(self, q: EventQuery) -> dict[str, Any]:
        if self.store is None:
            raise ToolCallError("no event store is open")
        known = self.known()
        for key in ("camera", "label", "rule", "board"):
            for value in (getattr(q, key), *(getattr(q, f"not_{key}", None) or ()), getattr(q, f"other_{key}", None)):
                if value is not None and value not in known[key]:
                    raise ToolCallError(f"there is no {key} '{value}' ({key}s: {', '.join(known[key]) or 'none'})")
        if q.op in MEASURES:
            return run_measure(self.store, q, self.now())
        return run_event_query(self.store, q, self.now(), known)

    def camera_stats(self, camera: str | None, fld: str, order: str | None = None, top: int = 1,
                     not_camera: list[str] | None = None) -> dict[str, Any]:
        """One named field per camera (``camera`` None: every camera, less ``not_camera``); ``order`` "highest"
        or "lowest": also the ``top`` cameras ranked by it (a camera without the figure is not ranked)."""
        if self.stats_path is None:
            return {"available": False, "reason": "no live stats file is configured"}
        try:
            data = read_stats(self.stats_path).model_dump(mode="json")
        except ValueError as e:
            return {"available": False, "reason": str(e)}
        cams: dict[str, Any] = data["cameras"]
        if camera is not None and camera not in cams:
            return {"available": False, "reason": f"no live stats for camera '{camera}' (cameras with stats: "
                                                  f"{', '.join(cams) or 'none'})"}
        age = round(time.time() - float(data.get("ts", 0.0)), 1)
        values: dict[str, Any] = {}
        for name, c in cams.items():
            if (camera is not None and name != camera) or name in (not_camera or ()):
                continue
            if fld.endswith("_ms"):
                values[name] = c.get("stage_ms", {}).get(fld[:-3])
            elif fld == "status":
                values[name] = {"status": c.get("status", "unknown"), "last_error": c.get("last_error")}
            else:
                values[name] = c.get(fld)
        out = {"available": True, "field": fld, "age_s": age, "stale": age > STALE_STATS_S, "cameras": values}
        if order is not None:
            figures = [(v, k) for k, v in values.items() if isinstance(v, int | float)]
            figures.sort(reverse=order == "highest")
            out |= {"order": order, "ranked": [{"camera": k, "value": v} for v, k in figures[:top]],
                    "tied": len(figures) > top and figures[top - 1][0] == figures[top][0]}
        return out

    def device_status(self, fld: str) -> dict[str, Any]:
        """One named device field: the daemon's own figures from the stats file, the host's from psutil."""
        import psutil

        if not self.host_status:
            return {"available": False, "field": fld, "reason": "the events are the fleet's: each board's "
                    "temperature, backlog and versions are in `edgekit fleet status`"}
        s = self._stats() or {}
        out: dict[str, Any] = {"available": True, "field": fld, "profile": self.profile or "unknown"}
        if fld == "cpu_temp_c":
            temp = s.get("cpu_temp_c")
            if temp is None:
                temps: dict[str, Any] = getattr(psutil, "sensors_temperatures", dict)()
                readings = [t.current for v in temps.values() for t in v]
                temp = round(max(readings), 1) if readings else None
            out["cpu_temp_c"] = temp
            if temp is None:
                out.update(available=False, reason="this device does not report a CPU temperature")
        elif fld == "name":
            out["name"] = s.get("device")
            if not out["name"]:
                out.update(available=False, reason="no live stats name this device")
        elif fld == "memory":
            vm = psutil.virtual_memory()
            out["daemon_rss_mb"] = round(s["rss"] / 2**20, 1) if s.get("rss") else None
            out["available_mb"] = vm.available // 2**20
            out["total_mb"] = vm.total // 2**20
        elif fld == "load":
            out["load_1min"] = round(os.getloadavg()[0], 2)
            out["cpu_cores"] = os.cpu_count()
        else:
            out["uptime_hours"] = round((time.time() - psutil.boot_time()) / 3600, 1)
        return out
