"""The daemon's side of the dashboard: feeds of its cameras, its event store, its events and stats.

Built (by the CLI) from the daemon's services before the daemon, and handed to it as its
:class:`~edgekit.pipeline.services.Watcher`: each camera worker gets :meth:`DaemonDashboard.frame_sink` (which only
keeps a reference to the newest frame while someone watches, see :mod:`edgekit.web.feeds`), the event handler
:meth:`~DaemonDashboard.on_event` (from a camera thread, after the event is stored), the stats loop
:meth:`~DaemonDashboard.on_stats`; the daemon starts and stops it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edgekit.config.daemon import DaemonConfig
from edgekit.config.dashboard import DashboardConfig
from edgekit.contract.jpeg import encode_jpeg
from edgekit.contract.stats import DaemonStats
from edgekit.events.store import EventStore
from edgekit.pipeline.services import CameraPlan
from edgekit.types import Detections, Event, Frame
from edgekit.vision.detector import Detector
from edgekit.web.app import Answerer, Dashboard, create_app, raw_frame_path
from edgekit.web.feeds import FrameHub, camera_overlay
from edgekit.web.server import DashboardServer
from edgekit.web.zones import ZoneEditor

log = logging.getLogger(__name__)


def runtime_of(detector: Detector) -> dict[str, Any]:
    """Which model, input size, precision and backend a camera's detector runs."""
    plan = detector.plan
    h, w = detector.input_hw
    return {
        "model": Path(str(plan.model_path)).name if plan else "",
        "imgsz": f"{w}x{h}",
        "precision": plan.precision if plan else "",
        "backend": getattr(detector.backend, "name", plan.backend if plan else ""),
    }


def device_extras() -> dict[str, Any]:
    """What the stats do not carry but the device panel shows: throttling (Raspberry Pi) and CPU clocks."""
    from edgekit.device.state import DeviceState

    try:
        st = DeviceState.capture()
    except OSError as e:  # a board without some sysfs file: show the rest
        log.debug("device state: %s", e)
        return {}
    return {"throttled": st.throttled, "cur_mhz": st.cur_mhz, "max_mhz": st.max_mhz, "governor": st.governor}


class DaemonDashboard:
    """The dashboard of a daemon's cameras (``cameras``), event store and assistant; a
    :class:`~edgekit.pipeline.services.Watcher` of the daemon.

    ``assistant``: what the page asks (the daemon's shared assistant, so one question is answered at a time
    whoever asks), or None when the daemon runs none.
    """

    def __init__(self, cfg: DashboardConfig, store: EventStore, cameras: Mapping[str, CameraPlan], device: str,
                 assistant: Answerer | None = None, daemon_cfg: DaemonConfig | None = None,
                 config_path: Path | None = None, allow_config_writes: bool = False) -> None:
        """``daemon_cfg``: the daemon's whole config, for the zone editor (None: no editor); ``config_path`` and
        ``allow_config_writes``: where the editor may write it back (``edgekit run --allow-config-writes``)."""
        self.cfg = cfg
        hub = FrameHub(cfg.stream_fps, cfg.stream_width, cfg.stream_quality)
        for cam_id, cam in cameras.items():
            hub.add(cam_id, cam.detector.labels, camera_overlay(cam.cfg))
        plans = {cam_id: cam.detector.plan for cam_id, cam in cameras.items()}
        editor = None if daemon_cfg is None else ZoneEditor(
            daemon_cfg, hub, {c: cam.rules for c, cam in cameras.items()}, config_path, allow_config_writes)
        self.dash = Dashboard(
            store=store, hub=hub, device=device, assistant=assistant,
            cameras={cam_id: runtime_of(cam.detector) for cam_id, cam in cameras.items()},
            model_files={cam_id: Path(plan.model_path) for cam_id, plan in plans.items()
                         if cfg.explain and plan is not None and Path(plan.model_path).suffix == ".onnx"},
            editor=editor,
        )
        app = create_app(self.dash, cfg.token, cfg.allowed_hosts)
        self.server = DashboardServer(app, cfg.host, cfg.port, cfg.token)

    @property
    def url(self) -> str:
        return self.server.url

    def frame_sink(self, cam_id: str) -> Callable[[Frame, Detections], None] | None:
        feed = self.dash.hub.feeds.get(cam_id)
        return feed.offer if feed is not None else None

    def start(self) -> None:
        self.server.start()

    def on_event(self, event: Event, frame: Frame) -> None:
        """Keep the un-annotated frame for the explain view, then tell the open pages."""
        if event.snapshot and event.source in self.dash.model_files:
            try:
                raw_frame_path(Path(event.snapshot)).write_bytes(encode_jpeg(frame.image, 90))
            except OSError as e:
                log.warning("dashboard: cannot keep the frame of event %s: %s", event.id, e)
        self.dash.events.publish(event)

    def on_stats(self, stats: DaemonStats) -> None:
        """Keep the daemon's stats for the charts, with the board's throttling and clocks beside them."""
        self.dash.history.add(stats.model_dump(mode="json"), device=device_extras())

    def stop(self) -> None:
        self.dash.hub.stop()
        self.dash.events.close()
        self.server.stop()
