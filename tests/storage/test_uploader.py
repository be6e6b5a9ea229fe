"""The S3 uploader against a real SeaweedFS: uploads once, waits out an outage, survives a SIGKILL."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from edgekit.config.storage import S3Config, StorageConfig
from edgekit.errors import EdgekitError
from edgekit.storage import S3Uploader, UploadQueue, object_keys
from edgekit.types import Event
from tests.helpers import wait_until
from tests.servers import SeaweedS3


def make_event(i: int, snapshot: Path | None = None) -> Event:
    return Event(rule="fall", source="cam1", label="Fall", score=0.9, box=(1, 2, 3, 4), start_ts=1_764_000_000 + i,
                 device="board-1", id=f"evt-{i:05d}", snapshot=str(snapshot) if snapshot else None)


def cfg_for(s3: SeaweedS3, **kw: object) -> S3Config:
    base: dict[str, object] = {"bucket": "edgekit-test", "endpoint_url": s3.endpoint, "prefix": "site",
                               "backoff_min_s": 0.05, "backoff_max_s": 0.5, "timeout_s": 3}
    return S3Config.model_validate({**base, **kw})


def keys_in(s3: SeaweedS3) -> list[str]:
    client = s3.client()
    out: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="edgekit-test"):  # type: ignore[attr-defined]
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)


def test_event_json_and_snapshot_uploaded_with_their_content(s3, tmp_path):
    jpg = tmp_path / "snap.jpg"
    jpg.write_bytes(b"\xff\xd8fake-jpeg\xff\xd9")
    cfg = cfg_for(s3)
    up = S3Uploader(cfg, UploadQueue(tmp_path / "uploads.db"))
    event = make_event(1, jpg)
    assert set(up.enqueue_event(event)) == {"event", "snapshot"}
    assert up.enqueue_event(event) == {}  # queued once only
    assert up.run_once() == 2
    assert len(up.queue) == 0
    keys = object_keys(cfg, event)
    assert keys["snapshot"] == "site/board-1/2025-11-24/evt-00001.jpg"
    client = s3.client()
    body = client.get_object(Bucket="edgekit-test", Key=keys["event"])  # type: ignore[attr-defined]
    assert json.loads(body["Body"].read())["id"] == "evt-00001"
    assert body["ContentType"] == "application/json"
    snap = client.get_object(Bucket="edgekit-test", Key=keys["snapshot"])  # type: ignore[attr-defined]
    assert snap["Body"].read() == jpg.read_bytes()
    assert up.counters["uploaded"] == 2 and up.counters["failed_attempts"] == 0


def test_storage_down_then_back_every_object_arrives_once(s3, tmp_path):
    up = S3Uploader(cfg_for(s3, snapshots=False), UploadQueue(tmp_path / "uploads.db"))
    s3.stop()
    up.start()
    try:
        for i in range(20):
            up.enqueue_event(make_event(i))
        wait_until(lambda: up.counters["failed_attempts"] >= 3, 60, what="3 failed upload attempts")
        assert len(up.queue) == 20 and up.last_error
        s3.start()
        assert up.wait_idle(120), up.stats()
    finally:
        up.stop()
    assert keys_in(s3) == sorted(f"site/board-1/{time.strftime('%Y-%m-%d', time.gmtime(1_764_000_000 + i))}/"
                                 f"evt-{i:05d}.json" for i in range(20))
    assert up.counters["uploaded"] == 20


def test_upload_confirmed_but_crash_before_delete_is_not_uploaded_again(s3, tmp_path):
    cfg = cfg_for(s3, snapshots=False)
    q = UploadQueue(tmp_path / "uploads.db")
    event = make_event(7)
    S3Uploader(cfg, q).enqueue_event(event)
    # What a crash between PutObject and the queue's delete leaves: the object stored, the row still there.
    job = q.due()[0]
    q.mark_attempt(job.seq)
    s3.client().put_object(Bucket="edgekit-test", Key=job.key, Body=job.body)  # type: ignore[attr-defined]
    up = S3Uploader(cfg, UploadQueue(tmp_path / "uploads.db"))
    assert up.run_once() == 1
    assert up.counters == {**up.counters, "uploaded": 0, "already_there": 1}
    # A partial object (different bytes) under the key is replaced by the real one.
    q.add_bytes("site/other.json", b'{"a":1}', "application/json")
    q.mark_attempt(q.due()[0].seq)
    s3.client().put_object(Bucket="edgekit-test", Key="site/other.json", Body=b"{")  # type: ignore[attr-defined]
    assert up.run_once() == 1 and up.counters["uploaded"] == 1
    got = s3.client().get_object(Bucket="edgekit-test", Key="site/other.json")  # type: ignore[attr-defined]
    assert got["Body"].read() == b'{"a":1}'


CHILD = textwrap.dedent("""
    import sys
    from edgekit.config.storage import S3Config
    from edgekit.storage import S3Uploader, UploadQueue
    from edgekit.types import Event
    endpoint, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = S3Config(bucket="edgekit-test", endpoint_url=endpoint, prefix="crash", snapshots=False)
    up = S3Uploader(cfg, UploadQueue(db))
    for i in range(n):
        up.enqueue_event(Event(rule="r", source="c", label="p", score=1.0, box=(0, 0, 1, 1), start_ts=0.0,
                               device="b", id=f"k{i:04d}"))
    print("queued", flush=True)
    while True:
        up.run_once(limit=5)
""")


@pytest.mark.slow
def test_sigkill_mid_upload_then_restart_uploads_the_rest_once(s3, tmp_path):
    import os
    import signal

    n, db = 120, tmp_path / "uploads.db"
    env = {**os.environ, **s3.env(), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, s3.endpoint, str(db), str(n)], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "queued"
        wait_until(lambda: len(keys_in(s3)) >= 20, 120, 0.2, what="20 objects uploaded before the kill")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    before = len(keys_in(s3))
    assert before < n, "the child finished before it was killed: raise n"
    up = S3Uploader(S3Config(bucket="edgekit-test", endpoint_url=s3.endpoint, prefix="crash", snapshots=False),
                    UploadQueue(db))
    while up.run_once():
        pass
    assert len(up.queue) == 0
    assert keys_in(s3) == [f"crash/b/1970-01-01/k{i:04d}.json" for i in range(n)]
    # what was stored before the kill is not uploaded again (the one in flight is found by its MD5)
    assert up.counters["uploaded"] == n - before
    assert up.counters["already_there"] <= 1


def test_wrong_credentials_keep_the_object_queued_with_the_reason(s3, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    up = S3Uploader(cfg_for(s3, snapshots=False), UploadQueue(tmp_path / "uploads.db"))
    up.enqueue_event(make_event(1))
    assert up.run_once() == 0
    assert len(up.queue) == 1 and "InvalidAccessKeyId" in (up.last_error or "")
    assert up.queue.due() == []  # backing off


def test_snapshot_pruned_before_upload_is_dropped_and_counted(s3, tmp_path):
    up = S3Uploader(cfg_for(s3), UploadQueue(tmp_path / "uploads.db"))
    up.enqueue_event(make_event(1, tmp_path / "gone.jpg"))
    assert up.run_once() == 1  # the JSON
    assert up.counters["dropped"] == 1 and len(up.queue) == 0


def test_no_credentials_is_one_clear_error(tmp_path, monkeypatch):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(EdgekitError, match="AWS_ACCESS_KEY_ID"):
        S3Uploader(S3Config(bucket="abc", endpoint_url="http://127.0.0.1:1"), UploadQueue(":memory:"))


@pytest.mark.parametrize("bad, match", [
    ({"bucket": "A_b"}, "valid S3 bucket"),
    ({"bucket": "ok-bucket", "endpoint_url": "127.0.0.1:9000"}, "http"),
    ({"bucket": "ok-bucket", "snapshots": False, "events": False}, "uploads nothing"),
    ({"bucket": "ok-bucket", "backoff_min_s": 10, "backoff_max_s": 1}, "backoff_max_s"),
    ({"bucket": "ok-bucket", "secret": "x"}, "Extra inputs"),
])
def test_config_rejects_bad_values(bad, match):
    with pytest.raises(ValueError, match=match):
        StorageConfig.model_validate({"s3": bad})
