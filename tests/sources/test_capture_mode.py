"""Camera mode: ask for a size and frame rate, read back what the capture gives, warn when it differs.

There is no webcam on the test machines and v4l2loopback cannot be loaded in their containers (no kernel modules),
so a real V4L2 device honouring or refusing a mode is not tested here. What is tested is the request/read-back
logic on a real OpenCV capture that cannot change its mode (a video file: its size is fixed, like a camera that only
offers 640×480), and the zone check that follows it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgekit.config.daemon import CameraConfig
from edgekit.sources.live import apply_capture_mode
from edgekit.tracking.rules import RuleEngine


@pytest.fixture
def small_video(tmp_path: Path) -> Path:
    path = tmp_path / "cam.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (640, 480))
    for i in range(5):
        w.write(np.full((480, 640, 3), i * 40, np.uint8))
    w.release()
    return path


def test_a_camera_that_gives_another_size_is_warned_and_read_back(small_video, caplog):
    cap = cv2.VideoCapture(str(small_video))
    try:
        with caplog.at_level(logging.INFO, logger="edgekit.sources.live"):
            got = apply_capture_mode(cap, "camera usb:0", 1280, 720, 30)
    finally:
        cap.release()
    assert got == (640, 480, 10.0)
    msgs = [(r.levelno, r.getMessage()) for r in caplog.records]
    info = [m for lv, m in msgs if lv == logging.INFO]
    assert info and info[0].startswith("camera usb:0: asked for 1280x720@30, the camera gives 640x480@10.0 ("), info
    warn = [m for lv, m in msgs if lv == logging.WARNING]
    assert any("gives 640x480, not the 1280x720 asked for" in m and "zones and lines" in m for m in warn)
    assert any("runs at 10.0 fps, not the 30 asked for" in m for m in warn)


def test_the_size_asked_for_is_not_warned(small_video, caplog):
    cap = cv2.VideoCapture(str(small_video))
    try:
        with caplog.at_level(logging.INFO, logger="edgekit.sources.live"):
            assert apply_capture_mode(cap, "camera usb:0", 640, 480, None)[:2] == (640, 480)
            assert apply_capture_mode(cap, "camera usb:0")[:2] == (640, 480)  # nothing asked: only logged
    finally:
        cap.release()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_zones_drawn_for_a_bigger_frame_are_found():
    cam = CameraConfig(source="usb:0", width=1280, height=720,
                       zones={"door": {"polygon": [[700, 100], [1200, 100], [1200, 700], [700, 700]]},
                              "desk": {"polygon": [[10, 10], [300, 10], [300, 300]]}},
                       lines={"gate": {"start": [640, 0], "end": [640, 700]}})
    eng = RuleEngine("cam", cam, [], ["person"])
    assert eng.beyond_frame(1280, 720) == []
    assert eng.beyond_frame(640, 480) == ["zone 'door'", "line 'gate'"]


def test_no_video_device_here_is_one_clear_error():
    from edgekit.sources import SourceError, open_source

    if Path("/dev/video7").exists():
        pytest.skip("a /dev/video7 exists here")
    with pytest.raises(SourceError, match="/dev/video7 does not exist"):
        open_source("usb:7", width=1280, height=720, fps=30)


def test_a_pixel_format_the_capture_cannot_give_is_warned(small_video, caplog):
    cap = cv2.VideoCapture(str(small_video))  # a file's "format" is its codec: it cannot switch to MJPG
    try:
        with caplog.at_level(logging.INFO, logger="edgekit.sources.live"):
            apply_capture_mode(cap, "camera usb:0", 640, 480, None, "MJPG")
    finally:
        cap.release()
    msgs = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert any(lv == logging.INFO and "asked for 640x480@- MJPG, the camera gives 640x480@10.0" in m for lv, m in msgs)
    warn = [m for lv, m in msgs if lv == logging.WARNING]
    assert len(warn) == 1 and "not the MJPG asked for" in warn[0] and "--list-formats-ext" in warn[0], warn


def test_a_pixel_format_is_four_characters():
    assert CameraConfig(source="usb:0", pixel_format="MJPG").pixel_format == "MJPG"
    for bad in ("mjpg", "MJPEG", "M", ""):
        with pytest.raises(ValueError):
            CameraConfig(source="usb:0", pixel_format=bad)
