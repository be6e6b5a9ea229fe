"""A camera file that does not exist is a config error (exit 2, one line), not a camera retried forever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from edgekit.sources import missing_file

REPO = Path(__file__).resolve().parents[2]


def test_missing_file_only_for_paths(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"")
    assert missing_file(str(tmp_path / "clip.mp4")) is None
    assert missing_file(str(tmp_path / "gone.mp4")) == f"video {tmp_path / 'gone.mp4'} not found"
    for uri in ("usb:0", "rtsp://cam/1", "synthetic:1", "csi://0", "picamera2:0", "/dev/video0"):
        assert missing_file(uri) is None, uri


def test_config_check_rejects_a_missing_camera_file(tmp_path: Path) -> None:
    cfg = tmp_path / "d.yaml"
    cfg.write_text(yaml.safe_dump({"mqtt": None, "cameras": {"door": {"source": str(tmp_path / "door.mp4")}}}))
    r = subprocess.run([sys.executable, "-m", "edgekit.cli.main", "config", "check", str(cfg)], cwd=REPO,
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "cameras.door.source: video" in r.stderr and "door.mp4 not found" in r.stderr
