"""The zone editor's side of the dashboard: a camera's latest frame, its zones, lines and motion mask, and the
proposal the page posts: checked by the daemon config's own models, shown as YAML, and, when the daemon was started
with ``--allow-config-writes`` and a writable config, written back to the file and swapped into the running rules.

``GET /api/cameras/{cam}/frame.jpg`` the newest frame, full size, un-annotated (what the editor draws on);
``GET /api/cameras/{cam}/zones`` the geometry now; ``POST /api/cameras/{cam}/zones`` JSON ``{"zones": …, "lines": …,
"motion_mask": …, "save": bool}``: 200 ``{"yaml", "saved", "message"}``, 400 ``{"error"}`` (a bad shape: nothing
changes), 409 ``{"error", "yaml"}`` (writes off or the config read-only: nothing changes).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edgekit.config.cameras import LineConfig, ZoneConfig
from edgekit.config.daemon import DaemonConfig
from edgekit.config.geometry import (
    CameraGeometry,
    geometry_of,
    geometry_yaml,
    parse_geometry,
    save_geometry,
    with_geometry,
)
from edgekit.contract.jpeg import encode_jpeg
from edgekit.errors import EdgekitError
from edgekit.web.feeds import CameraFeed, FrameHub, camera_overlay
from edgekit.web.guard import parse_json

log = logging.getLogger(__name__)

FRAME_WAIT_S = 5.0


class GeometryTarget(Protocol):
    """What takes new zones, lines and motion mask while running: a camera's rule engine (its worker's motion gate
    takes the mask from it)."""

    def set_geometry(self, zones: Mapping[str, ZoneConfig], lines: Mapping[str, LineConfig],
                     motion_mask: Sequence[Sequence[tuple[float, float]]] | None = None) -> None: ...


class ZoneEditor:
    """The zones of a running daemon's cameras: checks proposals, writes them back, reloads the rules.

    ``path``: the config file the daemon was started from (None: the embedded demo, YAML only); ``allow_writes``:
    ``edgekit run --allow-config-writes``. Proposals are handled one at a time (a lock), so two pages saving at once
    cannot interleave their writes.
    """

    def __init__(self, cfg: DaemonConfig, hub: FrameHub, targets: Mapping[str, GeometryTarget],
                 path: Path | None = None, allow_writes: bool = False) -> None:
        self.cfg, self.hub, self.targets = cfg, hub, dict(targets)
        self.path, self.allow_writes = path, allow_writes
        self.frame_sizes: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def writes_off(self) -> str | None:
        """Why a save would only show the YAML, or None when it writes."""
        if self.path is None:
            return "the daemon runs without a config file (the demo): paste the YAML into yours"
        if not self.allow_writes:
            return f"config writes are off: paste the YAML into {self.path}, or restart with --allow-config-writes"
        return None

    def frame_size(self, cam_id: str) -> tuple[int, int] | None:
        size = self.cfg.cameras[cam_id].frame_size
        return (int(size[0]), int(size[1])) if size else self.frame_sizes.get(cam_id)

    def state(self, cam_id: str) -> dict[str, Any]:
        geo = geometry_of(self.cfg, cam_id)
        return {"camera": cam_id, "geometry": geo.model_dump(mode="json"), "frame_size": self.frame_size(cam_id),
                "writes": {"enabled": self.writes_off() is None, "why_not": self.writes_off()},
                "zones_in_use": sorted({r.zone for r in self.cfg.rules if r.zone}),
                "lines_in_use": sorted({r.line for r in self.cfg.rules if r.line})}

    def propose(self, cam_id: str, geo: CameraGeometry, save: bool) -> tuple[int, dict[str, Any]]:
        """(status, answer) of a proposal; EdgekitError (400) when the shapes do not pass the config's checks."""
        with self._lock:
            size = self.frame_size(cam_id)
            new = with_geometry(self.cfg, cam_id, geo, size)
            yaml = geometry_yaml(cam_id, geo, new.cameras[cam_id].frame_size)
            if not save:
                return 200, {"yaml": yaml, "saved": False, "message": "valid: paste the YAML, or save"}
            why_not = self.writes_off()
            if why_not is None:
                assert self.path is not None
                try:
                    saved = save_geometry(self.path, cam_id, geo, size)
                except EdgekitError as e:
                    why_not = str(e)
            if why_not is not None:
                return 409, {"error": why_not, "yaml": yaml}
            self.apply(cam_id, with_geometry(self.cfg, cam_id, geometry_of(saved, cam_id), size))
        log.warning("zone editor: camera %s: zones %s, lines %s written to %s and reloaded", cam_id,
                    sorted(geo.zones), sorted(geo.lines), self.path)
        return 200, {"yaml": yaml, "saved": True, "message": f"saved to {self.path} and reloaded"}

    def apply(self, cam_id: str, cfg: DaemonConfig) -> None:
        """Make ``cfg``'s geometry of the camera the running one: its rules, and what its stream draws."""
        self.cfg = cfg
        cam = cfg.cameras[cam_id]
        target = self.targets.get(cam_id)
        if target is not None:
            target.set_geometry(cam.zones, cam.lines, cam.motion.mask)
        feed = self.hub.feeds.get(cam_id)
        if feed is not None:
            feed.set_overlay(camera_overlay(cam))


async def latest_frame(feed: CameraFeed, wait_s: float = FRAME_WAIT_S) -> Any:
    """The camera's newest frame: the feed keeps one only while watched, so this watches until one arrives."""
    feed.join()
    try:
        deadline = time.monotonic() + wait_s
        while feed.latest is None:
            if time.monotonic() > deadline or feed.closed:
                raise HTTPException(503, f"camera {feed.cam_id!r} sent no frame in {wait_s:g} s: is it up?")
            await asyncio.sleep(0.05)
        return feed.latest[0]
    finally:
        feed.leave()


def editor_routes(editor: ZoneEditor) -> list[Route]:
    """The editor's routes (behind the dashboard's guard and token like every other)."""

    def camera_of(req: Request) -> str:
        cam = str(req.path_params["cam"])
        if cam not in editor.hub.feeds or cam not in editor.cfg.cameras:
            raise HTTPException(404, f"unknown camera {cam!r}; cameras: {sorted(editor.hub.feeds)}")
        return cam

    async def frame(req: Request) -> Response:
        cam = camera_of(req)
        fr = await latest_frame(editor.hub.feeds[cam])
        h, w = fr.image.shape[:2]
        editor.frame_sizes[cam] = (int(w), int(h))
        jpeg = await run_in_threadpool(encode_jpeg, fr.image, 90)
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def zones(req: Request) -> Response:
        return JSONResponse(editor.state(camera_of(req)))

    async def propose(req: Request) -> Response:
        cam = camera_of(req)
        try:
            body = parse_json(await req.body())
        except ValueError as e:
            raise HTTPException(400, f"send JSON {{\"zones\": …, \"lines\": …, \"motion_mask\": …}}: {e}") from None
        if not isinstance(body, dict):
            raise HTTPException(400, "send a JSON object {\"zones\": …, \"lines\": …, \"motion_mask\": …}")
        save = body.pop("save", False)
        if not isinstance(save, bool):
            raise HTTPException(400, "save must be true or false")
        try:
            geo = parse_geometry(body)
            status, answer = await run_in_threadpool(editor.propose, cam, geo, save)
        except EdgekitError as e:
            raise HTTPException(400, str(e)) from None
        return JSONResponse(answer, status_code=status)

    return [
        Route("/api/cameras/{cam}/frame.jpg", frame),
        Route("/api/cameras/{cam}/zones", zones),
        Route("/api/cameras/{cam}/zones", propose, methods=["POST"]),
    ]
