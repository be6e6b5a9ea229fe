"""RTSP sources against a real RTSP server (Debian's GStreamer RTSP server) on loopback, through OpenCV's FFmpeg.

Connect; the server SIGKILLed and restarted → the source reconnects and counts it; the server frozen with SIGSTOP
(it keeps the connection open and stops sending) → the stall is noticed after the configured timeout, well before
OpenCV's own 30 s default, and the source reconnects once the server resumes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from edgekit.sources import LatestFrameReader, open_source
from edgekit.sources.live import avformat_version, rtsp_capture_options
from tests.conftest import free_port
from tests.helpers import wait_until
from tests.sources.rtsp import RtspServer, make_walk_video, rtsp_server_available

pytestmark = pytest.mark.skipif(rtsp_server_available() is not None, reason=str(rtsp_server_available()))


@pytest.fixture(scope="module")
def walk_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_walk_video(tmp_path_factory.mktemp("rtsp") / "walk.mp4")


@pytest.fixture
def server(walk_video: Path, tmp_path: Path) -> Iterator[RtspServer]:
    s = RtspServer(walk_video, free_port(), tmp_path)
    s.start()
    yield s
    s.close()


def test_the_stall_option_is_the_one_the_bundled_ffmpeg_knows():
    ver = avformat_version()
    assert ver is not None
    opts = rtsp_capture_options(2.5)
    assert opts.startswith("rtsp_transport;tcp|")
    # FFmpeg 5 (libavformat 59) renamed stimeout to timeout; the old name is silently ignored by newer ones
    assert opts.endswith("|timeout;2500000" if ver[0] >= 59 else "|stimeout;2500000")


@pytest.mark.slow
def test_connect_read_and_reconnect_after_the_server_restarts(server: RtspServer):
    src = open_source(server.url, timeout_s=10.0)
    reader = LatestFrameReader(src, drop=True)
    try:
        first = reader.get(timeout=30)
        assert first is not None
        frame, _ = first
        assert frame.image.shape == (360, 640, 3) and frame.source_id == server.url
        wait_until(lambda: reader.captured >= 5, 30, what="5 frames")  # a live stream keeps coming
        server.kill()
        wait_until(lambda: src.status == "reconnecting", 30, what="the source reconnecting")
        before = reader.captured
        server.start()  # same port, like a camera that rebooted
        wait_until(lambda: reader.captured >= before + 3 and src.status == "ok", 60, what="the stream back")
        assert src.reconnects == 1  # type: ignore[attr-defined]
    finally:
        reader.close()


@pytest.mark.slow
def test_a_stalled_server_is_noticed_within_the_timeout_and_the_stream_comes_back(server: RtspServer):
    timeout_s = 2.0
    src = open_source(server.url, timeout_s=timeout_s)
    reader = LatestFrameReader(src, drop=True)
    try:
        wait_until(lambda: reader.captured >= 3, 30, what="3 frames")
        server.freeze()
        t0 = time.monotonic()
        # Without a timeout FFmpeg waits forever, and with only OpenCV's default read timeout 30 s: the 15 s here
        # leaves room for a busy machine and still fails unless the configured 2 s timeout is honoured.
        wait_until(lambda: src.status == "reconnecting", 15, what="the stall noticed")
        noticed = time.monotonic() - t0
        stalled_at = reader.captured
        server.thaw()
        wait_until(lambda: src.status == "ok" and reader.captured >= stalled_at + 3, 60, what="the stream back")
        assert src.reconnects >= 1  # type: ignore[attr-defined]
        print(f"stall noticed after {noticed:.1f} s (timeout {timeout_s} s)")
    finally:
        reader.close()


def test_open_timeout_ends_a_connection_that_never_answers(tmp_path: Path):
    """A port that accepts TCP but never speaks RTSP: the first open fails after the timeout with one clear line."""
    import socket

    from edgekit.sources import SourceError
    from edgekit.sources.live import open_rtsp

    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)  # the kernel accepts connections; nobody answers
        url = f"rtsp://127.0.0.1:{lsock.getsockname()[1]}/cam"
        with pytest.raises(SourceError, match="cannot open stream"):
            open_rtsp(url, timeout_s=1.0, open_timeout_s=1.0)
    assert cv2.CAP_PROP_READ_TIMEOUT_MSEC > 0  # the OpenCV build has the read-timeout property used above
