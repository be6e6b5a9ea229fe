"""Dashboards for the web tests: one on real parts without a daemon (fast), and the real daemon serving one."""

from __future__ import annotations

import importlib.util
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import pytest

from edgekit.config.daemon import DaemonConfig
from edgekit.events.store import EventStore
from edgekit.sources import Source, open_source
from edgekit.types import Detections
from edgekit.web.app import Dashboard, create_app
from edgekit.web.feeds import FrameHub, Overlay
from edgekit.web.server import DashboardServer
from tests.helpers import REPO

if TYPE_CHECKING:
    from edgekit.pipeline.daemon import Daemon
    from edgekit.pipeline.services import Services
    from edgekit.web.attach import DaemonDashboard

TOKEN = "a-test-token-of-32-characters-xx"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "web"
needs_chromium = [
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="scripts/install_dashboard.sh"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install chromium (scripts/install_dashboard.sh)"),
]


@dataclass
class Served:
    dash: Dashboard
    server: DashboardServer

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


class SyntheticFeeder:
    """Offers frames of the synthetic camera to a feed, as a camera worker does (no detections: the feed is what
    is under test here)."""

    def __init__(self, hub: FrameHub, cam_id: str, source: Source | None = None) -> None:
        self.feed = hub.feeds[cam_id]
        self._stop = threading.Event()
        self._src = source or open_source("synthetic:1", realtime=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self._src.read()
            if frame is None:
                return
            self.feed.offer(frame, Detections.empty())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._src.close()


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    """A dashboard over a real store and a synthetic feed; ``@pytest.mark.parametrize("served", [TOKEN],
    indirect=True)`` serves it with a token."""
    token = getattr(request, "param", None)
    store = EventStore(tmp_path / "events.db")
    hub = FrameHub(fps=10, width=640)
    hub.add("cam1", ["Normal", "Fall"], Overlay({"door": [(10, 10), (200, 10), (200, 200)]}, {}))
    dash = Dashboard(store=store, hub=hub, device="test")
    feeder = SyntheticFeeder(hub, "cam1")
    server = DashboardServer(create_app(dash, token), port=0, token=token)
    server.start()
    try:
        yield Served(dash, server)
    finally:
        hub.stop()
        dash.events.close()
        server.stop()
        feeder.close()
        store.close()


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (screenshots go to ``ARTIFACTS``)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {ARTIFACTS}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@contextmanager
def checked_page(browser: Any, url: str, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A page of ``url`` in a new browser context that must end with no JavaScript error and no Content-Security-
    Policy violation (:data:`edgekit.web.guard.CSP`: Chromium reports every blocked script, style, image or
    connection on the console)."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    pg.set_default_timeout(120_000)
    pg.goto(url)
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"


def demo_daemon_config(state: Path, clips: dict[str, Any] | None = None, **dashboard: Any) -> DaemonConfig:
    """The demo daemon's config; ``clips`` is the door camera's clips section (none by default)."""
    return DaemonConfig.model_validate({
        "device": "webtest",
        "state_dir": str(state),
        "cameras": {"door": {"source": "synthetic:0:60", "realtime": True,
                             "zones": {"middle": {"polygon": [[320, 0], [960, 0], [960, 720], [320, 720]]}},
                             **({"clips": clips} if clips else {})}},
        "rules": [{"name": "person_in_middle", "labels": ["Normal", "Fall"], "zone": "middle", "min_frames": 1,
                   "cooldown_s": 2}],
        "mqtt": None,
        "metrics": {"enabled": False},
        "dashboard": {"enabled": True, "port": 0, **dashboard},
    })


@dataclass
class RunningDaemon:
    daemon: Daemon
    dashboard: DaemonDashboard
    stop: threading.Event
    thread: threading.Thread

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.dashboard.server.port}"


def start_daemon(cfg: DaemonConfig, services: Services | None = None) -> RunningDaemon:
    """The daemon of ``cfg`` with its dashboard, built as ``edgekit run`` builds them, started and running."""
    from edgekit.cli.run import build_daemon

    daemon, dashboard = build_daemon(cfg, services)
    assert dashboard is not None, "dashboard.enabled is off"
    stop = threading.Event()
    daemon.start()
    t = threading.Thread(target=daemon.run, args=(stop, 1.0), daemon=True)
    t.start()
    return RunningDaemon(daemon, dashboard, stop, t)


def stop_daemon(running: RunningDaemon) -> None:
    running.stop.set()
    running.thread.join(30)
    running.daemon.close()


@pytest.fixture
def running_daemon(tmp_path: Path) -> Iterator[RunningDaemon]:
    """The real daemon (synthetic camera, the bundled detector, a zone rule) serving its dashboard."""
    running = start_daemon(demo_daemon_config(tmp_path / "state"))
    try:
        yield running
    finally:
        stop_daemon(running)


def record_clip(folder: Path, camera: str, event_id: str, seconds: float = 3.0, seed: int = 0) -> Path:
    """A real event clip: ``seconds`` of the synthetic scene encoded by the daemon's ClipRecorder (H.264 MP4)."""
    from edgekit.config.clips import ClipsConfig
    from edgekit.pipeline.clips import ClipRecorder
    from edgekit.sources import SyntheticScene

    fps, t0 = 10.0, 1_700_000_000.0
    scene = SyntheticScene.random(seed, period=8)
    rec = ClipRecorder(camera, ClipsConfig(enabled=True, pre_s=0, post_s=seconds, segment_s=1, buffer_s=10),
                       folder, fps=fps)
    rec.start()
    n = round((seconds + 1) * fps)
    for i in range(n):
        rec.add(cv2.resize(scene.render(i / fps)[0], (320, 180)), t0 + i / fps)
        if i == 0:
            rec.request(event_id, t0, t0)
        while rec._q.qsize() > 2:  # the test waits for the encoder, so no frame is dropped
            rec._thread.join(0.005)
    rec.close()
    path = folder / camera / f"{event_id}.mp4"
    assert path.is_file(), f"no clip written at {path}"
    return path
