"""The daemon's side of the dashboard: feeds from its camera workers, its event store, events and stats.

The daemon calls four things: :meth:`DaemonDashboard.start`, :meth:`on_event` (from a camera thread, after the
event is stored), :meth:`on_stats` (from the stats loop) and :meth:`stop`. Each camera worker gets ``on_frame``,
which only keeps a reference to the newest frame while someone watches (see :mod:`edgekit.web.feeds`).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from edgekit.config.dashboard import DashboardConfig
from edgekit.contract.jpeg import encode_jpeg
from edgekit.types import Event, Frame
from edgekit.web.app import Dashboard, create_app, raw_frame_path
from edgekit.web.feeds import FrameHub, Overlay
from edgekit.web.server import DashboardServer

log = logging.getLogger(__name__)


def camera_overlay(cam_cfg: Any) -> Overlay:
    """The zones and lines of a camera's config, as drawn on its stream."""
    zones = {name: [tuple(p) for p in z.polygon] for name, z in getattr(cam_cfg, "zones", {}).items()}
    lines = {name: (tuple(ln.start), tuple(ln.end)) for name, ln in getattr(cam_cfg, "lines", {}).items()}
    return Overlay(zones, lines)  # type: ignore[arg-type]


def runtime_of(detector: Any) -> dict[str, Any]:
    """Which model, input size, precision and backend a camera's detector runs."""
    plan = getattr(detector, "plan", None)
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


class SerialAnswerer:
    """An assistant whose ``ask`` runs one question at a time, whoever calls it (page, MQTT)."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant
        self._lock = threading.Lock()

    def ask(self, question: str, **kwargs: Any) -> Any:
        with self._lock:
            return self.assistant.ask(question, **kwargs)


class DaemonDashboard:
    """A dashboard bound to a running daemon (duck-typed: ``workers``, ``store``, ``cfg``)."""

    def __init__(self, daemon: Any, cfg: DashboardConfig) -> None:
        self.cfg = cfg
        hub = FrameHub(cfg.stream_fps, cfg.stream_width, cfg.stream_quality)
        self.dash = Dashboard(store=daemon.store, hub=hub, device=daemon.cfg.device)
        for cam_id, worker in daemon.workers.items():
            feed = hub.add(cam_id, worker.detector.labels, camera_overlay(worker.cfg))
            worker.on_frame = feed.offer
            self.dash.cameras[cam_id] = runtime_of(worker.detector)
            plan = getattr(worker.detector, "plan", None)
            if cfg.explain and plan is not None and Path(plan.model_path).suffix == ".onnx":
                self.dash.model_files[cam_id] = Path(plan.model_path)
        app = create_app(self.dash, cfg.token, cfg.allowed_hosts)
        self.server = DashboardServer(app, cfg.host, cfg.port, cfg.token)

    @property
    def url(self) -> str:
        return self.server.url

    def share_assistant(self, assistant: Any) -> Any:
        """Let the page ask ``assistant`` too; returns the wrapper every other user must call instead (one
        llama.cpp context answers one question at a time)."""
        shared = SerialAnswerer(assistant)
        self.dash.assistant = shared
        return shared

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

    def on_stats(self, stats: Any) -> None:
        """Keep the daemon's stats for the charts, with the board's throttling and clocks beside them."""
        self.dash.history.add(stats, device=device_extras())

    def stop(self) -> None:
        self.dash.hub.stop()
        self.dash.events.close()
        self.server.stop()
