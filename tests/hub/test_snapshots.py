"""A board uploads its snapshot to S3-compatible storage (SeaweedFS) and sends the event; the hub stores the
snapshot's key, and `edgekit fleet events` hands out a working presigned URL for it."""

from __future__ import annotations

import json
import time
import urllib.request

import yaml

from edgekit.config.storage import S3Config
from edgekit.hub import FleetStore, Hub, Incoming, migrate, parse
from edgekit.storage import S3Uploader, UploadQueue
from edgekit.storage.s3 import object_keys
from tests.helpers import run_cli, wait_until
from tests.hub.conftest import hub_config
from tests.hub.test_hub import board, make_event, rows


def test_snapshot_uploaded_by_board_is_reachable_from_the_fleet_events(broker, pg_dsn, s3, tmp_path):
    migrate(pg_dsn)
    hub = Hub(hub_config(broker.port, pg_dsn))
    hub.start()
    assert hub.subscribed.wait(30)
    s3cfg = {"bucket": "edgekit-test", "endpoint_url": s3.endpoint, "prefix": "site-a"}
    uploader = S3Uploader(S3Config.model_validate(s3cfg), UploadQueue(tmp_path / "uploads.db"))
    link = board(broker.port, "dock-2", tmp_path)
    jpg = tmp_path / "snap.jpg"
    jpg.write_bytes(b"\xff\xd8\xff\xe0 a real board writes a JPEG here \xff\xd9")
    try:
        event = uploader.with_keys(make_event("dock-2", 1, snapshot=str(jpg)))  # what the daemon does per event
        link.publish_event(event)
        uploader.enqueue_event(event)
        assert uploader.run_once() == 2 and len(uploader.queue) == 0
        key = "site-a/dock-2/2025-11-24/" + event.id + ".jpg"
        wait_until(lambda: rows(pg_dsn, "SELECT snapshot_key FROM events") == [(key,)], 60,
                   what=lambda: f"the event with its snapshot key stored: {hub.stats()}")
    finally:
        link.stop(flush_timeout_s=1)
        hub.stop()
    cfg = tmp_path / "hub.yaml"
    cfg.write_text(yaml.safe_dump({"database": {"dsn": pg_dsn}, "s3": s3cfg}))
    r = run_cli("fleet", "events", "--config", str(cfg), "--json", env=s3.env())
    assert r.returncode == 0, r.stderr
    [row] = json.loads(r.stdout)
    assert row["snapshot_key"] == key
    with urllib.request.urlopen(row["snapshot_url"], timeout=10) as resp:  # anyone with the link, no credentials
        assert resp.read() == jpg.read_bytes()
    assert "AWS_SECRET_ACCESS_KEY" not in row["snapshot_url"] and s3.secret_key not in row["snapshot_url"]


def test_retention_deletes_old_rows_and_the_boards_old_objects_only(broker, pg_dsn, s3, monkeypatch):
    migrate(pg_dsn)
    old, new = make_event("dock-2", 1), make_event("dock-2", 2, start_ts=time.time())
    store = FleetStore(pg_dsn)
    try:
        store.write([parse(Incoming(f"edgekit/{e.device}/events", e.to_json().encode(), i, 1, 0, e.start_ts),
                           "edgekit", 64 * 1024, 16) for i, e in enumerate((old, new))])
    finally:
        store.close()
    s3cfg = S3Config(bucket="edgekit-test", endpoint_url=s3.endpoint, prefix="site-a")
    keys = {name: object_keys(s3cfg, e)["snapshot"] for name, e in (("old", old), ("new", new))}
    kept = [keys["new"], "site-a/dock-2/notes/readme.txt", "elsewhere/dock-2/2025-11-24/x.jpg"]
    client = s3.client()
    for key in [keys["old"], *kept]:
        client.put_object(Bucket="edgekit-test", Key=key, Body=b"x")
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    cfg = hub_config(broker.port, pg_dsn).model_copy(update={"retention_days": 30.0, "s3": s3cfg})
    hub = Hub(cfg)
    hub.start()  # retention runs at start, then hourly
    try:
        wait_until(lambda: hub.stats().get("retention_runs", 0) >= 1, 30, what=lambda: f"a retention run: {hub.stats()}")
    finally:
        hub.stop()
    assert rows(pg_dsn, "SELECT id FROM events") == [(new.id,)]
    listed = client.list_objects_v2(Bucket="edgekit-test").get("Contents", [])
    assert sorted(o["Key"] for o in listed) == sorted(kept)
    assert (hub.stats()["expired_events"], hub.stats()["expired_objects"]) == (1, 1)
