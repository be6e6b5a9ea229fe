"""Cameras of the daemon config: source, model, pacing, and the zones and lines drawn on the frame."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from edgekit.config.base import Point, Strict


def segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """True when segment p1-p2 properly crosses q1-q2.

    >>> segments_cross((0, 0), (2, 2), (0, 2), (2, 0)), segments_cross((0, 0), (1, 0), (0, 1), (1, 1))
    (True, False)
    """

    def orient(a: Point, b: Point, c: Point) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


class ZoneConfig(Strict):
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
                if segments_cross(*edges[i], *edges[j]):
                    raise ValueError(f"polygon edges {i} and {j} cross: list the points in order around the shape")
        area2 = sum(pts[i][0] * pts[i - 1][1] - pts[i - 1][0] * pts[i][1] for i in range(len(pts)))
        if abs(area2) < 1e-6:
            raise ValueError("polygon has zero area (points are collinear or repeated)")
        return pts


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
    on_end: Literal["retry", "stop"] = Field(
        "retry", description="When the source ends or fails: reconnect with backoff, or stop this camera."
    )
    zones: dict[str, ZoneConfig] = Field(default_factory=dict)
    lines: dict[str, LineConfig] = Field(default_factory=dict)
