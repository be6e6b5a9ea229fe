"""Cameras of the daemon config: source, model, pacing, and the zones and lines drawn on the frame."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from edgekit.config.base import Strict
from edgekit.config.clips import ClipsConfig
from edgekit.config.motion import MotionConfig
from edgekit.config.objects import ObjectsConfig
from edgekit.config.polygons import Point, verify_in_frame, verify_polygon


class ZoneConfig(Strict):
    """A polygon in frame pixels; an object is inside when its bottom-centre anchor is."""

    polygon: list[Point] = Field(title="Polygon", description="At least 3 [x, y] points in frame pixels.")

    @field_validator("polygon")
    @classmethod
    def verify_polygon(cls, pts: list[Point]) -> list[Point]:
        return verify_polygon(pts)


class LineConfig(Strict):
    """A directed line; crossing from its left to its right side (looking from start to end) is "in"."""

    start: Point
    end: Point

    @model_validator(mode="after")
    def verify_length(self) -> LineConfig:
        if self.start == self.end:
            raise ValueError("line start and end are the same point")
        return self


class CameraConfig(Strict):
    """One camera: a source URI, the model that looks at it, and its zones and lines."""

    source: str = Field(title="Source", description="Any core source URI: file, usb:N, rtsp://..., csi://N, synthetic")
    model: str | None = Field(None, description="Model card name or path; default: the top-level `model`.")
    enabled: bool = True
    conf: float = Field(0.35, ge=0.0, le=1.0, description="Detector score threshold.")
    max_fps: float | None = Field(
        None, gt=0, description="Process at most this many frames per second (of capture time for live sources, "
        "of media time for files); the frames in between are skipped and counted as dropped."
    )
    realtime: bool = Field(
        False, description="Pace files and synthetic sources like a camera (stale frames are then dropped)."
    )
    width: int | None = Field(
        None, gt=0, description="Capture width to ask a USB/CSI/Pi camera for (USB: set through V4L2 and read back; "
        "a camera that gives another size is logged as a warning, since zones are drawn in these pixels)."
    )
    height: int | None = Field(None, gt=0, description="Capture height to ask the camera for (see `width`).")
    fps: float | None = Field(None, gt=0, description="Capture frame rate to ask the camera for.")
    pixel_format: str | None = Field(
        None, pattern=r"^[A-Z0-9]{3,4}$",
        description="V4L2 pixel format (fourcc) to ask a USB camera for, e.g. MJPG (most webcams reach 720p30 only "
        "compressed) or YUYV; OpenCV converts it to BGR. Unset: OpenCV's first choice (BGR3, then YUYV, ...). "
        "`v4l2-ctl --list-formats-ext` lists a camera's formats.")
    timeout_s: float = Field(
        10.0, gt=0, description="A live camera or stream that sends nothing this long is reopened (RTSP: through "
        "OpenCV's read timeout and FFmpeg's socket timeout) and reported down."
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
