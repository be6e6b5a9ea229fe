"""The hub's retention (``retention_days``): event rows, rejects and the boards' S3 objects older than that go.

Rows go by their start time (rejects by when they arrived). Objects go by the day folder of the boards' key layout
(``<prefix>/<device>/<YYYY-MM-DD>/``, :func:`edgekit.storage.s3.object_keys`), not by the rows: an object whose
event never reached the hub goes too, and a key a board wrote into its event (which may name another board's
object) is never what decides a deletion. Nothing outside day folders of that layout is touched.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def expire_rows(conn: Any, cutoff: float, batch: int = 5000) -> tuple[int, int]:
    """Delete events that started before ``cutoff`` (epoch s), in batches that hold no long lock, and rejects
    received before it; returns (events, rejects) deleted. ``conn``: a psycopg connection in autocommit."""
    events = 0
    while True:
        n = conn.execute("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE start_ts < %s LIMIT %s)",
                         (cutoff, batch)).rowcount
        events += max(0, n)
        if n < batch:
            break
    rejects = conn.execute("DELETE FROM rejects WHERE received_at < %s", (cutoff,)).rowcount
    return events, max(0, rejects)


def _folders(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The sub-folders directly under ``prefix`` (which ends with '/' or is empty)."""
    out: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        out += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return out


def expire_objects(s3: Any, bucket: str, prefix: str, cutoff: float) -> int:
    """Delete every object in a ``<prefix>/<device>/<day>/`` folder whose whole day lies before ``cutoff``'s day
    (UTC, as the boards name them); returns how many were deleted."""
    cutoff_day = datetime.fromtimestamp(cutoff, tz=timezone.utc).strftime("%Y-%m-%d")
    base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    deleted = 0
    for device in _folders(s3, bucket, base):
        for folder in _folders(s3, bucket, device):
            day = folder[len(device):].rstrip("/")
            if not (_DAY.match(day) and day < cutoff_day):
                continue
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    res = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                    deleted += len(keys) - len(res.get("Errors", []))  # the rest are tried again next time
    return deleted
