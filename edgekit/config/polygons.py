"""Polygon checks shared by zones and masks: points in frame pixels, in order, with an area, inside the frame."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Point = tuple[float, float]


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    def orient(a: Point, b: Point, c: Point) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def verify_polygon(pts: Sequence[Point]) -> list[Point]:
    """The points of a simple polygon with an area; raises ``ValueError`` naming what to fix."""
    pts = [(float(x), float(y)) for x, y in pts]
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
    area2 = sum(pts[i][0] * pts[i - 1][1] - pts[i - 1][0] * pts[i][1] for i in range(n))
    if abs(area2) < 1e-6:
        raise ValueError("polygon has zero area (points are collinear or repeated)")
    return pts


def verify_inside(what: str, pts: Sequence[Point], size: tuple[int, int]) -> None:
    """Raise ``ValueError`` when a point of the polygon lies outside a ``(width, height)`` frame."""
    w, h = size
    for x, y in pts:
        if x > w or y > h:
            raise ValueError(f"{what}: point [{x:g}, {y:g}] is outside the {w}x{h} frame (frame_size); "
                             "draw it in the camera's frame pixels")


def verify_in_frame(frame_size: tuple[int, int] | None, polygons: Mapping[str, Sequence[Point]],
                    masks: Mapping[str, Sequence[Point]]) -> None:
    """Check every polygon (zones and masks, by name) against the frame; masks need a ``frame_size``.

    Raises ``ValueError`` naming the first polygon outside the frame, or the first mask when no size is given
    (a mask drawn for another resolution would silently cover the wrong part of the image).
    """
    if frame_size is None:
        if masks:
            raise ValueError(f"{next(iter(masks))} needs `frame_size: [width, height]` (the source's frame size in "
                             "pixels) so masks can be checked against the frame")
        return
    for what, pts in {**polygons, **masks}.items():
        verify_inside(what, pts, frame_size)
