"""Read-only tools the assistant's model may call: typed arguments, validated, never SQL or shell text.

The model picks a tool and its arguments as JSON constrained by :meth:`ToolBox.call_schema` (labels and
cameras are enums of what the store and the stats file really hold); :meth:`ToolBox.parse` validates them
again with pydantic and :meth:`ToolBox.run` returns a JSON-ready result. A bad call raises
:class:`ToolCallError`, whose message is shown to the model once.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import psutil
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgekit.assistant.hints import Hints
from edgekit.events import EventStore
from edgekit.pipeline.stats import read_stats
from edgekit.types import Event

Window = Literal["last_hour", "today", "yesterday", "last_24_hours", "last_7_days", "all_time"]
EVENT_TOOLS = ("count_events", "list_events", "last_events")
STALE_STATS_S = 60.0


class ToolCallError(Exception):
    """The model's tool call was invalid; the message says why, in words the model can act on."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CountEventsArgs(_Args):
    label: str | None = Field(None, description="event label, or null for any")
    camera: str | None = Field(None, description="camera id, or null for all")
    window: Window = "all_time"


class ListEventsArgs(CountEventsArgs):
    limit: int = Field(5, ge=1, le=20)


class LastEventsArgs(_Args):
    n: int = Field(5, ge=1, le=20)


class CameraStatsArgs(_Args):
    camera: str | None = Field(None, description="camera id, or null for all")


class DeviceStatusArgs(_Args):
    pass


class NoArgs(_Args):
    pass


@dataclass(frozen=True)
class ToolSpec:
    name: str
    summary: str
    args: type[_Args]


TOOLS: dict[str, ToolSpec] = {
    t.name: t
    for t in (
        ToolSpec("count_events", "how many events, by label, camera and time window", CountEventsArgs),
        ToolSpec("list_events", "which events happened, by label, camera and time window", ListEventsArgs),
        ToolSpec("last_events", "the n most recent events", LastEventsArgs),
        ToolSpec("camera_stats", "live camera speed: fps, dropped frames, stage times", CameraStatsArgs),
        ToolSpec("device_status", "device memory, temperature, load, uptime", DeviceStatusArgs),
        ToolSpec("none", "the question needs no data (greetings, help)", NoArgs),
    )
}


def window_bounds(window: Window, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(since, until) in local time for a named window; None means open."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "last_hour": (now - timedelta(hours=1), None),
        "today": (midnight, None),
        "yesterday": (midnight - timedelta(days=1), midnight),
        "last_24_hours": (now - timedelta(hours=24), None),
        "last_7_days": (now - timedelta(days=7), None),
        "all_time": (None, None),
    }[window]


def _event_record(e: Event) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "time": datetime.fromtimestamp(e.start_ts).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        "label": e.label,
        "camera": e.source,
        "rule": e.rule,
        "score": round(e.score, 2),
    }
    if e.track_id is not None:
        rec["track_id"] = e.track_id
    return rec


@dataclass
class ToolBox:
    """The tools bound to one event store, stats file and device profile."""

    store: EventStore | None
    stats_path: Path | None = None
    profile: str | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    #: tools offered to the model (default: all); e.g. the daemon may leave out ``device_status``
    allowed: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.allowed or ()) - set(TOOLS)
        if unknown:
            raise ValueError(f"unknown tools {sorted(unknown)}; tools: {', '.join(TOOLS)}")

    @property
    def enabled(self) -> list[ToolSpec]:
        return [t for t in TOOLS.values() if self.allowed is None or t.name in self.allowed]

    # what the store holds, for the schema's enums and for validation ---------------------------------
    def labels(self) -> list[str]:
        return sorted(self.store.count_by("label")) if self.store else []

    def cameras(self) -> list[str]:
        """Cameras seen in the store or in the live stats file."""
        names = set(self.store.count_by("source")) if self.store else set()
        if self.stats_path is not None:
            # no daemon running: only the store's cameras exist
            with contextlib.suppress(ValueError):
                names |= set(read_stats(self.stats_path).cameras)
        return sorted(names)

    def store_is_empty(self) -> bool:
        return self.store is None or self.store.count() == 0

    def call_schema(self, hints: Hints | None = None) -> dict[str, Any]:
        """JSON schema of one tool call ``{"tool": name, "args": {...}}``, one branch per tool.

        With ``hints`` (see :mod:`edgekit.assistant.hints`) the branches and values are narrowed to what the
        question names: a named label or camera is the only choice, an unnamed one is null ("any").
        """
        labels, cameras = self.labels(), self.cameras()
        windows = list(Window.__args__)  # type: ignore[attr-defined]

        def nullable_enum(values: list[str]) -> dict[str, Any]:
            if not values:
                return {"type": "null"}
            return {"anyOf": [{"type": "string", "enum": values}, {"type": "null"}]}

        def count(value: int | None) -> dict[str, Any]:
            return {"type": "integer", "minimum": 1, "maximum": 20} if value is None else {"enum": [value]}

        props: dict[str, dict[str, Any]] = {
            "label": nullable_enum(labels),
            "camera": nullable_enum(cameras),
            "window": {"type": "string", "enum": windows},
            "limit": count(None),
            "n": count(None),
        }
        specs = self.enabled
        if hints is not None:
            props["label"] = {"enum": [hints.label]} if hints.label else {"type": "null"}
            props["camera"] = {"enum": [hints.camera]} if hints.camera else {"type": "null"}
            if hints.window:
                props["window"] = {"enum": [hints.window]}
            props["limit"] = props["n"] = count(hints.n)
            if hints.tools:
                specs = [t for t in specs if t.name in hints.tools] or specs
        branches = []
        for spec in specs:
            names = list(spec.args.model_fields)
            args = {"type": "object", "properties": {k: props[k] for k in names}, "required": names}
            branches.append(
                {
                    "type": "object",
                    "properties": {"tool": {"const": spec.name}, "args": args},
                    "required": ["tool", "args"],
                }
            )
        return {"anyOf": branches}

    # running ------------------------------------------------------------------------------------------
    def parse(self, call: Any) -> tuple[str, _Args]:
        """Validate a decoded tool call; raises ToolCallError naming the problem."""
        if not isinstance(call, dict) or not isinstance(call.get("tool"), str):
            raise ToolCallError('a tool call must be a JSON object {"tool": NAME, "args": {...}}')
        name = call["tool"]
        spec = TOOLS.get(name)
        if spec is None or spec not in self.enabled:
            raise ToolCallError(f"unknown tool {name!r}; tools: {', '.join(t.name for t in self.enabled)}")
        try:
            args = spec.args.model_validate(call.get("args") or {})
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            raise ToolCallError(f"bad arguments for {name}: {problems}") from e
        for key, known in (("label", self.labels), ("camera", self.cameras)):
            value = getattr(args, key, None)
            if value is not None:
                match = {k.lower(): k for k in known()}.get(value.lower())
                if match is None:
                    raise ToolCallError(f"unknown {key} {value!r}; known: {', '.join(known()) or 'none'}")
                setattr(args, key, match)
        return name, args

    def run(self, name: str, args: _Args) -> dict[str, Any]:
        """Run a validated call and return its JSON-ready result."""
        fn = getattr(self, f"_tool_{name}")
        result: dict[str, Any] = fn(args)
        return result

    def _filters(self, args: CountEventsArgs) -> dict[str, Any]:
        since, until = window_bounds(args.window, self.now())
        return {"label": args.label, "source": args.camera, "since": since, "until": until}

    @staticmethod
    def _describe(args: CountEventsArgs, f: dict[str, Any]) -> dict[str, Any]:
        def fmt(t: datetime | None) -> str | None:
            return None if t is None else t.strftime("%Y-%m-%d %H:%M")

        return {
            "label": args.label or "any",
            "camera": args.camera or "all",
            "window": args.window,
            "since": fmt(f["since"]),
            "until": fmt(f["until"]),
        }

    def _require_store(self) -> EventStore:
        if self.store is None:
            raise ToolCallError("no event store is open")
        return self.store

    def _tool_count_events(self, args: CountEventsArgs) -> dict[str, Any]:
        f = self._filters(args)
        return {"count": self._require_store().count(**f), **self._describe(args, f)}

    def _tool_list_events(self, args: ListEventsArgs) -> dict[str, Any]:
        store, f = self._require_store(), self._filters(args)
        events = store.query(**f, limit=args.limit)
        return {
            "total": store.count(**f),
            "shown": len(events),
            **self._describe(args, f),
            "events": [_event_record(e) for e in events],
        }

    def _tool_last_events(self, args: LastEventsArgs) -> dict[str, Any]:
        events = self._require_store().last(args.n)
        return {"shown": len(events), "events": [_event_record(e) for e in events]}

    def _tool_camera_stats(self, args: CameraStatsArgs) -> dict[str, Any]:
        if self.stats_path is None:
            return {"available": False, "reason": "no live stats file configured"}
        try:
            data = read_stats(self.stats_path)
        except ValueError as e:
            return {"available": False, "reason": str(e)}
        cameras: dict[str, Any] = data.camera_dicts()
        if args.camera is not None:
            if args.camera not in cameras:
                known = ", ".join(cameras) or "none"
                raise ToolCallError(f"no live stats for camera {args.camera!r}; cameras: {known}")
            cameras = {args.camera: cameras[args.camera]}
        age = round(time.time() - data.ts, 1)
        return {"available": True, "age_s": age, "stale": age > STALE_STATS_S, "cameras": cameras}

    def _tool_device_status(self, args: DeviceStatusArgs) -> dict[str, Any]:
        vm = psutil.virtual_memory()
        out: dict[str, Any] = {
            "profile": self.profile or "unknown",
            "cpu_cores": os.cpu_count(),
            "cpu_percent": psutil.cpu_percent(interval=0.2),
            "load_1min": round(os.getloadavg()[0], 2),
            "memory_total_mb": vm.total // 2**20,
            "memory_available_mb": vm.available // 2**20,
            "uptime_hours": round((time.time() - psutil.boot_time()) / 3600, 1),
        }
        temps: dict[str, Any] = getattr(psutil, "sensors_temperatures", dict)()
        if temps:
            out["temperatures_c"] = {k: round(max(t.current for t in v), 1) for k, v in temps.items() if v}
        else:
            out["temperatures_c"] = "not reported by this machine"
        return out

    def _tool_none(self, args: NoArgs) -> dict[str, Any]:
        return {}
