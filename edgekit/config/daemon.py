"""Configuration of the camera daemon (`edgekit run --config FILE`).

One YAML file names the device profile, cameras, zones/lines, rules and the MQTT broker. Every model forbids
unknown keys; cross-field checks are named ``verify_*`` functions whose errors name the camera/rule and say what
to fix; pydantic errors are mapped back to the YAML line they came from; ``{ENV_NAME}`` placeholders in strings
are filled from the environment so secrets stay out of the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator, model_validator

from edgekit.config.clips import ClipsConfig
from edgekit.config.motion import MotionConfig
from edgekit.config.objects import ObjectsConfig
from edgekit.config.polygons import verify_in_frame
from edgekit.errors import EdgekitError

_ENV_RE = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Point = tuple[float, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    def orient(a: Point, b: Point, c: Point) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


class ZoneConfig(_Strict):
    """A polygon in frame pixels; an object is inside when its bottom-centre anchor is."""

    polygon: list[Point] = Field(title="Polygon", description="At least 3 [x, y] points in frame pixels.")

    @field_validator("polygon")
    @classmethod
    def verify_polygon(cls, pts: list[Point]) -> list[Point]:
        if len(pts) < 3:
            raise ValueError(f"a polygon needs at least 3 points, got {len(pts)}")
        if any(x < 0 or y < 0 for x, y in pts):
            raise ValueError("polygon points must be non-negative pixel coordinates")
        n = len(pts)
        edges = [(pts[i], pts[(i + 1) % n]) for i in range(n)]
        for i in range(n):
            for j in range(i + 2, n):
                if i == 0 and j == n - 1:
                    continue  # neighbours through the closing edge
                if _segments_cross(*edges[i], *edges[j]):
                    raise ValueError(f"polygon edges {i} and {j} cross: list the points in order around the shape")
        area2 = sum(pts[i][0] * pts[i - 1][1] - pts[i - 1][0] * pts[i][1] for i in range(len(pts)))
        if abs(area2) < 1e-6:
            raise ValueError("polygon has zero area (points are collinear or repeated)")
        return pts


class LineConfig(_Strict):
    """A directed line; crossing from its left to its right side (looking from start to end) is "in"."""

    start: Point
    end: Point

    @model_validator(mode="after")
    def verify_length(self) -> LineConfig:
        if self.start == self.end:
            raise ValueError("line start and end are the same point")
        return self


class CameraConfig(_Strict):
    """One camera: a source URI, the model that looks at it, and its zones and lines."""

    source: str = Field(title="Source", description="Any core source URI: file, usb:N, rtsp://..., csi://N, synthetic")
    model: str | None = Field(None, description="Model card name or path; default: the top-level `model`.")
    enabled: bool = True
    conf: float = Field(0.35, ge=0.0, le=1.0, description="Detector score threshold.")
    max_fps: float | None = Field(None, gt=0, description="Process at most this many frames per second.")
    realtime: bool = Field(
        False, description="Pace files and synthetic sources like a camera (stale frames are then dropped)."
    )
    on_end: Literal["retry", "stop"] = Field(
        "retry", description="When the source ends or fails: reconnect with backoff, or stop this camera."
    )
    zones: dict[str, ZoneConfig] = Field(default_factory=dict)
    lines: dict[str, LineConfig] = Field(default_factory=dict)
    frame_size: tuple[PositiveInt, PositiveInt] | None = Field(
        None, description="[width, height] of the source's frames: zones and masks are checked against it "
        "(needed when masks are drawn).")
    motion: MotionConfig = Field(default_factory=MotionConfig, description="Motion gating of the detector.")
    objects: ObjectsConfig = Field(default_factory=ObjectsConfig, description="Per-label masks and filters.")
    clips: ClipsConfig = Field(default_factory=ClipsConfig, description="Event clips (MP4 with pre/post-roll).")

    @model_validator(mode="after")
    def verify_frame(self) -> CameraConfig:
        polys = {f"zone {n!r}": z.polygon for n, z in self.zones.items()}
        polys |= {f"line {n!r}": [ln.start, ln.end] for n, ln in self.lines.items()}
        masks = {f"motion.mask {i}": p for i, p in enumerate(self.motion.mask)}
        masks |= {f"objects.masks.{lb} {i}": p for lb, ps in self.objects.masks.items() for i, p in enumerate(ps)}
        verify_in_frame(self.frame_size, polys, masks)
        return self


class ScheduleWindow(_Strict):
    """Local-time window in which a rule is active; `end` before `start` wraps past midnight."""

    days: list[Day] = Field(default_factory=lambda: list(_DAYS))
    start: str = Field("00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field("23:59", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class RuleConfig(_Strict):
    """When to raise an Event. All given conditions must hold for the same object (or count)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    cameras: list[str] | None = Field(None, description="Camera ids; default all cameras.")
    labels: list[str] = Field(default_factory=list, description="Model labels; empty means any label.")
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    zone: str | None = None
    line: str | None = None
    direction: Literal["in", "out", "any"] = "any"
    pose: Literal["fall", "hands_up"] | None = Field(None, description="Pose condition (needs `pose.enabled`).")
    min_frames: int = Field(1, ge=1, description="Consecutive frames the condition must hold.")
    dwell_s: float = Field(0.0, ge=0.0, description="Seconds the condition must hold.")
    min_count: int | None = Field(
        None, ge=1, description="Fire when at least this many matching objects are present (one event per episode)."
    )
    cooldown_s: float = Field(
        30.0, ge=0.0, description="A track fires again only this long after its last episode ended (count rules: "
        "after the last event)."
    )
    rule_cooldown_s: float = Field(0.0, ge=0.0, description="Least seconds between two events of this rule.")
    schedule: list[ScheduleWindow] = Field(default_factory=list, description="Active windows; empty = always.")

    @model_validator(mode="after")
    def verify_shape(self) -> RuleConfig:
        if self.zone and self.line:
            raise ValueError(f"rule {self.name!r}: use either `zone` or `line`, not both")
        if self.line and (self.min_count or self.min_frames > 1 or self.dwell_s > 0):
            raise ValueError(f"rule {self.name!r}: a line crossing is instant: drop min_count/min_frames/dwell_s")
        return self


class TLSConfig(_Strict):
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = Field(False, description="Skip host-name verification (self-signed test brokers only).")


class MQTTConfig(_Strict):
    """Broker connection and topic layout (Frigate-style: everything under `<prefix>/<device>/`)."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls: TLSConfig | None = None
    client_id: str | None = None
    keepalive: int = Field(30, ge=5, le=3600)
    topic_prefix: str = Field("edgekit", pattern=r"^[^#+]+$")
    snapshots: Literal["path", "topic"] = Field(
        "path", description="`path`: events carry the JPEG path; `topic`: also publish the JPEG bytes."
    )
    discovery: bool = Field(True, description="Publish Home Assistant MQTT discovery for each camera/rule.")
    discovery_prefix: str = "homeassistant"
    stats_interval_s: float = Field(10.0, gt=0)
    wait_for_broker: bool = Field(
        False, description="Start even when the broker is unreachable (alerts wait in the outbox)."
    )
    connect_timeout_s: float = Field(5.0, gt=0)


class MetricsConfig(_Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(9108, ge=0, le=65535)


class PoseConfig(_Strict):
    enabled: bool = False
    labels: list[str] = Field(default_factory=list, description="Run pose on these labels; empty = all.")
    model_complexity: int = Field(1, ge=0, le=2)
    min_visibility: float = Field(0.5, ge=0, le=1)


class AssistantConfig(_Strict):
    enabled: bool = False
    model: str | None = None


class DaemonConfig(_Strict):
    """The whole daemon: `edgekit config schema` prints this model's JSON schema."""

    device: str = Field("edgekit", pattern=r"^[A-Za-z0-9_-]+$", description="Device id used in MQTT topics.")
    profile: str | None = Field(None, description="Device profile name or YAML path.")
    model: str = Field("yolov8s-fall", description="Default model card for cameras.")
    state_dir: str | None = Field(None, description="Outbox, event store and snapshots; default the user state dir.")
    stats_file: str | None = Field(None, description="Live stats JSON; default `<state_dir>/stats.json`.")
    cameras: dict[str, CameraConfig] = Field(min_length=1)
    rules: list[RuleConfig] = Field(default_factory=list)
    mqtt: MQTTConfig | None = Field(default_factory=MQTTConfig, description="null disables MQTT.")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    pose: PoseConfig = Field(default_factory=PoseConfig)
    assistant: AssistantConfig = Field(default_factory=AssistantConfig)
    snapshot_quality: int = Field(85, ge=10, le=100)

    @model_validator(mode="after")
    def verify_references(self) -> DaemonConfig:
        names = [r.name for r in self.rules]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"rule names must be unique, repeated: {sorted(dup)}")
        for cam_id in self.cameras:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", cam_id):
                raise ValueError(f"camera id {cam_id!r} may use only letters, digits, '_' and '-'")
        for r in self.rules:
            cams = r.cameras if r.cameras is not None else list(self.cameras)
            for c in cams:
                if c not in self.cameras:
                    raise ValueError(f"rule {r.name!r} names camera {c!r}; cameras are {sorted(self.cameras)}")
                cam = self.cameras[c]
                if r.zone and r.zone not in cam.zones:
                    raise ValueError(f"rule {r.name!r}: camera {c!r} has no zone {r.zone!r} ({sorted(cam.zones)})")
                if r.line and r.line not in cam.lines:
                    raise ValueError(f"rule {r.name!r}: camera {c!r} has no line {r.line!r} ({sorted(cam.lines)})")
            if r.pose and not self.pose.enabled:
                raise ValueError(f"rule {r.name!r} uses a pose condition: set `pose: {{enabled: true}}`")
        return self

    def cameras_of(self, rule: RuleConfig) -> list[str]:
        """Camera ids a rule applies to."""
        return list(rule.cameras) if rule.cameras is not None else list(self.cameras)

    def model_of(self, cam_id: str) -> str:
        """The model card a camera uses."""
        return self.cameras[cam_id].model or self.model


def _fill_env(value: Any, path: tuple[Any, ...] = ()) -> Any:
    if isinstance(value, dict):
        return {k: _fill_env(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_env(v, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                where = ".".join(str(p) for p in path)
                raise EdgekitError(f"config {where}: environment variable {name} is not set (used as {{{name}}})")
            return os.environ[name]

        return _ENV_RE.sub(sub, value)
    return value


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based YAML line of the node at a pydantic error location (or its nearest parent)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return line


def parse_config(text: str, name: str = "<config>") -> DaemonConfig:
    """Validate YAML text; raises EdgekitError with `file:line: where: what` on the first problem."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        raise EdgekitError(f"{name}: not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise EdgekitError(f"{name}: the config must be a YAML mapping (e.g. `cameras: ...`)")
    data = _fill_env(data)
    try:
        return DaemonConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(root, loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r} (see `edgekit config schema`)"
        more = f" (+{len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        raise EdgekitError(f"{name}:{line}: {where}: {msg}{more}") from None


def load_config(path: str | Path) -> DaemonConfig:
    """Read and validate a daemon config file."""
    p = Path(path)
    if not p.is_file():
        raise EdgekitError(f"config file {p} not found: pass an existing YAML file (see examples/daemon.yaml)")
    return parse_config(p.read_text(encoding="utf-8"), str(p))


def config_schema() -> dict[str, Any]:
    """JSON schema of the daemon config."""
    return DaemonConfig.model_json_schema()
