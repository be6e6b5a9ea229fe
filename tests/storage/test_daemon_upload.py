"""The daemon with `storage.s3`: each event's snapshot and JSON reach a real SeaweedFS, and the stored and
published event carries its snapshot's key."""

from __future__ import annotations

import json
import threading

import pytest

from edgekit.config.daemon import DaemonConfig
from edgekit.errors import EdgekitError
from edgekit.pipeline.daemon import Daemon
from tests.helpers import wait_until
from tests.storage.test_uploader import keys_in


def config(tmp_path, endpoint: str) -> DaemonConfig:
    return DaemonConfig.model_validate({
        "device": "porch",
        "state_dir": str(tmp_path / "state"),
        "cameras": {"walk": {"source": "synthetic:3"}},
        "rules": [{"name": "person", "labels": ["Normal", "Fall"], "min_frames": 1, "cooldown_s": 600}],
        "mqtt": None,
        "metrics": {"enabled": False},
        "storage": {"s3": {"bucket": "edgekit-test", "endpoint_url": endpoint, "prefix": "cams",
                           "backoff_min_s": 0.2}},
    })


@pytest.mark.slow
def test_daemon_uploads_each_events_snapshot_and_json(s3, tmp_path):
    events = []
    daemon = Daemon(config(tmp_path, s3.endpoint), on_event=events.append)
    stop = threading.Event()
    runner = threading.Thread(target=daemon.run, args=(stop,))
    try:
        daemon.start()
        runner.start()
        wait_until(lambda: events and len(keys_in(s3)) >= 2 * len(events), 300, 0.2,
                   what=lambda: f"a snapshot and a JSON object uploaded per event ({len(events)} events)")
    finally:
        stop.set()
        runner.join(timeout=30)
        stats = daemon.stats()
        daemon.close()
    keys = keys_in(s3)
    for e in events:
        assert e.extra["snapshot_key"] in keys and e.extra["snapshot_key"].startswith("cams/porch/")
        assert e.extra["snapshot_key"].replace(".jpg", ".json") in keys
    e = events[0]
    body = s3.client().get_object(Bucket="edgekit-test", Key=e.extra["snapshot_key"])["Body"].read()
    assert body[:2] == b"\xff\xd8" and body == open(e.snapshot, "rb").read()  # noqa: SIM115
    uploaded = json.loads(s3.client().get_object(Bucket="edgekit-test",
                                                 Key=e.extra["snapshot_key"].replace(".jpg", ".json"))["Body"].read())
    assert uploaded["id"] == e.id and uploaded["extra"]["snapshot_key"] == e.extra["snapshot_key"]
    assert stats.uploads is not None and stats.uploads["uploaded"] >= 2 and stats.version


def test_daemon_without_s3_credentials_refuses_to_start(tmp_path, monkeypatch):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(EdgekitError, match=r"storage\.s3: no credentials"):
        Daemon(config(tmp_path, "http://127.0.0.1:9"))
