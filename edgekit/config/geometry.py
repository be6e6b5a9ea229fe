"""What the zone editor changes in a camera: its zones, lines and motion mask, checked by the daemon config's own
models (the code ``edgekit config check`` runs), and the YAML to paste.

Examples:
    >>> geo = CameraGeometry(zones={"door": {"polygon": [[0, 0], [10, 0], [10, 10]]}})
    >>> print(geometry_yaml("front", geo, (640, 480)), end="")
    cameras:
      front:
        frame_size: [640, 480]
        zones:
          door:
            polygon: [[0, 0], [10, 0], [10, 10]]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from edgekit.config.base import Strict
from edgekit.config.cameras import LineConfig, ZoneConfig
from edgekit.config.daemon import DaemonConfig
from edgekit.config.loader import dotted, first_error
from edgekit.config.polygons import Point
from edgekit.errors import EdgekitError

NAME = r"^[A-Za-z0-9_-]{1,64}$"


class CameraGeometry(Strict):
    """A camera's zones, lines and motion mask, in frame pixels (the body the zone editor posts)."""

    zones: dict[str, ZoneConfig] = Field(default_factory=dict)
    lines: dict[str, LineConfig] = Field(default_factory=dict)
    motion_mask: list[list[Point]] = Field(default_factory=list, description="The camera's `motion.mask`.")

    @field_validator("zones", "lines")
    @classmethod
    def verify_names(cls, shapes: dict[str, Any]) -> dict[str, Any]:
        import re

        for name in shapes:
            if not re.fullmatch(NAME, name):
                raise ValueError(f"name {name!r}: use 1 to 64 letters, digits, '_' or '-'")
        return shapes


def geometry_of(cfg: DaemonConfig, cam_id: str) -> CameraGeometry:
    """The geometry a camera has now."""
    cam = cfg.cameras[cam_id]
    return CameraGeometry(zones=cam.zones, lines=cam.lines, motion_mask=cam.motion.mask)


def one_line(e: ValidationError) -> str:
    """The first error of a validation, as ``where: what`` (the wording ``config check`` uses)."""
    loc, msg = first_error(e)
    return f"{dotted(loc) or '(top level)'}: {msg}"


def parse_geometry(body: Any) -> CameraGeometry:
    """The editor's JSON body as a geometry; EdgekitError (one line) when a shape is malformed."""
    try:
        return CameraGeometry.model_validate(body)
    except ValidationError as e:
        raise EdgekitError(one_line(e)) from None


def with_geometry(cfg: DaemonConfig, cam_id: str, geo: CameraGeometry,
                  frame_size: tuple[int, int] | None) -> DaemonConfig:
    """``cfg`` with the camera's geometry replaced, validated as a whole by :class:`DaemonConfig` (polygons inside
    the frame, not self-crossing, rules naming zones and lines that exist); EdgekitError with one line when not.
    ``frame_size``: the camera's own when it has one, else the size of the frame the shapes were drawn on."""
    data = cfg.model_dump(mode="python")
    cam = data["cameras"][cam_id]
    cam["zones"] = {n: z.model_dump() for n, z in geo.zones.items()}
    cam["lines"] = {n: ln.model_dump() for n, ln in geo.lines.items()}
    cam["motion"]["mask"] = [list(p) for p in geo.motion_mask]
    cam["frame_size"] = cam.get("frame_size") or frame_size
    try:
        return DaemonConfig.model_validate(data)
    except ValidationError as e:
        raise EdgekitError(one_line(e)) from None


def plain(v: float) -> int | float:
    """A coordinate as YAML shows it best: ``12`` rather than ``12.0``."""
    return int(v) if float(v).is_integer() else round(float(v), 2)


def geometry_tree(geo: CameraGeometry, frame_size: tuple[int, int] | None) -> dict[str, Any]:
    """The camera keys the geometry sets, as plain YAML values (points as ``[x, y]`` lists)."""
    out: dict[str, Any] = {}
    if frame_size is not None:
        out["frame_size"] = [int(frame_size[0]), int(frame_size[1])]
    if geo.zones:
        out["zones"] = {n: {"polygon": [[plain(x), plain(y)] for x, y in z.polygon]} for n, z in geo.zones.items()}
    if geo.lines:
        out["lines"] = {n: {"start": [plain(v) for v in ln.start], "end": [plain(v) for v in ln.end]}
                        for n, ln in geo.lines.items()}
    if geo.motion_mask:
        out["motion"] = {"mask": [[[plain(x), plain(y)] for x, y in p] for p in geo.motion_mask]}
    return out


def geometry_yaml(cam_id: str, geo: CameraGeometry, frame_size: tuple[int, int] | None) -> str:
    """The YAML to paste under ``cameras:`` (points one polygon a line)."""
    from edgekit.config.yaml_edit import dump_yaml

    return dump_yaml({"cameras": {cam_id: geometry_tree(geo, frame_size)}})


def save_geometry(path: Path, cam_id: str, geo: CameraGeometry, frame_size: tuple[int, int] | None) -> DaemonConfig:
    """Write the geometry into config file ``path`` (the rest of the file kept) when the new file passes the loader
    ``config check`` runs; returns the new config. EdgekitError (one line, nothing written) otherwise."""
    from edgekit.config.daemon import parse_config
    from edgekit.config.yaml_edit import merge_camera, read_only_reason, replace_atomically

    reason = read_only_reason(path)
    if reason is not None:
        raise EdgekitError(reason)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EdgekitError(f"cannot read config {path}: {getattr(e, 'strerror', None) or e}") from None
    new_text = merge_camera(text, cam_id, geometry_tree(geo, frame_size))
    cfg = parse_config(new_text, str(path))
    replace_atomically(path, new_text)
    return cfg
