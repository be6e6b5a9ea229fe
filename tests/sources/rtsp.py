"""A real RTSP server the tests control: Debian's GStreamer RTSP server (tests/sources/rtsp_server.py) on loopback.

Installed by scripts/install_rtsp.sh; run with Debian's /usr/bin/python3 (python3-gi is not in the venv). The tests
start it, SIGKILL and restart it on the same port (a camera rebooting), and SIGSTOP/SIGCONT it (a camera that keeps
the connection open and stops sending).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import cv2
import numpy as np

from edgekit.sources import SyntheticScene
from tests.servers import wait_tcp

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).with_name("rtsp_server.py")


def rtsp_server_available() -> str | None:
    """None when the server can run here, else why not."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} missing"
    probe = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    if subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True).returncode != 0:
        return "GStreamer RTSP server not installed (scripts/install_rtsp.sh)"
    return None


def make_walk_video(path: Path, seconds: float = 40.0, fps: float = 5.0) -> Path:
    """A small MP4 of the synthetic walk (people from the real photos), the scene repeating for ``seconds``."""
    scene = SyntheticScene.random(0, width=640, height=360, period=8.0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (scene.width, scene.height))
    try:
        for i in range(round(seconds * fps)):
            frame = scene.render((i / fps) % scene.duration)[0]
            cv2.putText(frame, str(i), (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 255), 2)  # frames differ
            writer.write(np.ascontiguousarray(frame))
    finally:
        writer.release()
    return path


class RtspServer:
    """``rtsp://127.0.0.1:PORT/cam`` serving ``video`` (each client plays it from the start, in real time)."""

    def __init__(self, video: Path, port: int, workdir: Path) -> None:
        self.video, self.port, self.dir = video, port, workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> None:
        log = open(self.dir / f"rtsp-{self.port}.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen([SYSTEM_PYTHON, str(SERVER), str(self.port), str(self.video)],
                                     stdout=log, stderr=subprocess.STDOUT)
        wait_tcp(self.port, timeout=60)

    def kill(self) -> None:
        """SIGKILL: connections drop at once (a camera losing power)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        wait_tcp(self.port, up=False)

    def freeze(self) -> None:
        """SIGSTOP: the socket stays open and accepts, nothing is sent (a hung camera)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
            self.kill()
