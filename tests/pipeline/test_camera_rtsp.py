"""A camera worker on a live RTSP stream (real GStreamer RTSP server, real detector): the server is SIGKILLed and
restarted, the stream reconnects by itself, and the reconnect shows in the camera's stats with the camera back up."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.config.cameras import CameraConfig
from edgekit.pipeline.camera import CameraWorker
from edgekit.tracking.rules import RuleEngine
from edgekit.vision.detector import Detector
from tests.conftest import free_port
from tests.helpers import wait_until
from tests.sources.rtsp import RtspServer, make_walk_video, rtsp_server_available

pytestmark = pytest.mark.skipif(rtsp_server_available() is not None, reason=str(rtsp_server_available()))


@pytest.mark.slow
def test_rtsp_reconnects_are_counted_in_the_camera_stats(tmp_path: Path) -> None:
    server = RtspServer(make_walk_video(tmp_path / "walk.mp4", seconds=30.0), free_port(), tmp_path)
    server.start()
    cfg = CameraConfig(source=server.url, timeout_s=5.0)
    det = Detector.load("yolov8s-fall")
    ups: list[bool] = []
    w = CameraWorker("door", cfg, det, RuleEngine("door", cfg, [], det.labels), lambda *a: None,
                     on_status=lambda cam, up: ups.append(up))
    w.start()
    try:
        wait_until(lambda: w.stats.processed >= 2 and w.stats.status == "ok", 120, what="2 frames from the stream")
        assert w.stats.reconnects == 0
        server.kill()
        wait_until(lambda: w.stats.status == "down", 60, what="the camera down after the server's kill")
        server.start()
        processed = w.stats.processed
        wait_until(lambda: w.stats.status == "ok" and w.stats.processed > processed, 120,
                   what="the camera back with new frames")
        assert w.stats.reconnects == 1
        assert ups[:3] == [True, False, True]
    finally:
        w.stop()
        w.join(timeout=30)
        server.close()
        det.close()
