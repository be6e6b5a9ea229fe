"""Upload worker: drains the upload queue into an S3-compatible bucket with boto3, retrying with backoff.

Each object is put once: a row leaves the queue only after the store confirmed the ``PutObject``. If the process
died between the upload and that delete, the row's next attempt first asks the store (``HeadObject``) whether an
object with the same MD5 is already there, and skips the upload when it is. Keys are derived from the event id, so
a second try of the same event overwrites nothing new.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgekit.config.storage import S3Config
from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.storage.queue import UploadJob, UploadQueue
from edgekit.types import Event

log = logging.getLogger(__name__)


def object_keys(cfg: S3Config, event: Event) -> dict[str, str]:
    """The keys of an event's objects: ``{"event": ".../<id>.json", "snapshot": ".../<id>.jpg"}``.

    Deterministic, so a hub that receives the event over MQTT knows where its snapshot is without asking.

    Examples:
        >>> cfg = S3Config(bucket="cams", prefix="site1")
        >>> e = Event(rule="r", source="cam", label="person", score=0.9, box=(0, 0, 1, 1), start_ts=0.0,
        ...           device="gate", id="abc")
        >>> object_keys(cfg, e)["snapshot"]
        'site1/gate/1970-01-01/abc.jpg'
    """
    day = datetime.fromtimestamp(event.start_ts, tz=timezone.utc).strftime("%Y-%m-%d")
    base = "/".join(p for p in (cfg.prefix, event.device or "unknown", day, event.id) if p)
    return {"event": f"{base}.json", "snapshot": f"{base}.jpg"}


def make_client(cfg: S3Config) -> Any:
    """A boto3 S3 client for ``cfg`` with credentials from the environment; one clear error when there are none."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as e:
        raise MissingDependencyError("boto3", "pip install 'edgekit[s3]'") from e
    session = boto3.session.Session(region_name=cfg.region or "us-east-1")
    if session.get_credentials() is None:
        raise EdgekitError("storage.s3: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                           "(or AWS_PROFILE) in the environment")
    config = Config(connect_timeout=cfg.timeout_s, read_timeout=cfg.timeout_s,
                    retries={"max_attempts": 1, "mode": "standard"},  # the queue retries, with its own backoff
                    s3={"addressing_style": cfg.addressing_style})
    return session.client("s3", endpoint_url=cfg.endpoint_url, config=config,
                          verify=cfg.ca_bundle if cfg.ca_bundle else None)


class S3Uploader:
    """Queue objects with ``enqueue_event``; a background thread (``start``) or ``run_once`` uploads them."""

    def __init__(self, cfg: S3Config, queue: UploadQueue, client: Any | None = None) -> None:
        self.cfg, self.queue = cfg, queue
        self.client = client if client is not None else make_client(cfg)
        self.counters = {"queued": 0, "uploaded": 0, "already_there": 0, "failed_attempts": 0, "dropped": 0}
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- producing -----------------------------------------------------------------------------------------------
    def with_keys(self, event: Event) -> Event:
        """The event with ``extra.snapshot_key`` set (when it has a snapshot to upload), for the hub to store."""
        if not (self.cfg.snapshots and event.snapshot):
            return event
        return replace(event, extra={**event.extra, "snapshot_key": object_keys(self.cfg, event)["snapshot"]})

    def enqueue_event(self, event: Event) -> dict[str, str]:
        """Commit the event's JSON and snapshot (as configured) to the queue; returns the keys queued."""
        keys = object_keys(self.cfg, event)
        queued: dict[str, str] = {}
        if self.cfg.snapshots and event.snapshot and self.queue.add_file(keys["snapshot"], event.snapshot,
                                                                          "image/jpeg"):
            queued["snapshot"] = keys["snapshot"]
        if self.cfg.events and self.queue.add_bytes(keys["event"], event.to_json().encode(), "application/json"):
            queued["event"] = keys["event"]
        self.counters["queued"] += len(queued)
        self._wake.set()
        return queued

    # -- consuming -----------------------------------------------------------------------------------------------
    def run_once(self, limit: int = 20) -> int:
        """Try every due row once; returns how many left the queue as stored."""
        stored = 0
        for job in self.queue.due(limit):
            if self._stop.is_set():
                break
            stored += self._attempt(job)
        return stored

    def _attempt(self, job: UploadJob) -> int:
        try:
            body = job.body if job.body is not None else Path(job.path or "").read_bytes()
        except OSError as e:
            # A snapshot pruned (or lost) before it was uploaded can never succeed: say so once and move on.
            log.warning("upload of %s dropped: cannot read %s (%s)", job.key, job.path, e.strerror or e)
            self.counters["dropped"] += 1
            self.queue.done(job.seq)
            return 0
        md5 = hashlib.md5(body).hexdigest()
        try:
            if job.attempts > 0 and self._already_there(job.key, md5):
                self.counters["already_there"] += 1
            else:
                self.queue.mark_attempt(job.seq)
                self.client.put_object(Bucket=self.cfg.bucket, Key=job.key, Body=body, ContentType=job.content_type,
                                       ContentMD5=_b64(md5))
                self.counters["uploaded"] += 1
        except Exception as e:  # botocore raises many types (connection, client, credentials): all mean "later"
            delay = self._backoff(job.attempts + 1)
            self.counters["failed_attempts"] += 1
            self.last_error = f"{type(e).__name__}: {e}"
            if self.counters["failed_attempts"] <= 5 or job.attempts == 0:
                log.warning("upload of %s failed (%s); retrying in %.1f s", job.key, self.last_error, delay)
            self.queue.retry_later(job.seq, delay, self.last_error)
            return 0
        self.last_error = None
        self.queue.done(job.seq)
        return 1

    def _already_there(self, key: str, md5: str) -> bool:
        try:
            head = self.client.head_object(Bucket=self.cfg.bucket, Key=key)
        except Exception as e:
            code = str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return str(head.get("ETag", "")).strip('"') == md5

    def _backoff(self, attempts: int) -> float:
        # Full exponential backoff with jitter, so many boards coming back at once do not hit the store together.
        base = min(self.cfg.backoff_max_s, self.cfg.backoff_min_s * 2 ** min(attempts - 1, 30))
        return base * random.uniform(0.5, 1.0)

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Upload in a background thread until ``stop``."""
        self._thread = threading.Thread(target=self._loop, name="s3-uploader", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("upload loop failed; retrying")
            wait = self.queue.next_due_in()
            self._wake.wait(timeout=1.0 if wait is None else min(1.0, wait))
            self._wake.clear()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread; rows not yet uploaded stay in the queue for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def stats(self) -> dict[str, Any]:
        """Counters plus queue depth and age, for the stats topic and health."""
        return {**self.counters, "pending": len(self.queue), "oldest_s": round(self.queue.oldest_age_s(), 1),
                "last_error": self.last_error}

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until the queue is empty (True) or the timeout passes (False)."""
        deadline = time.monotonic() + timeout_s
        while len(self.queue) and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        return len(self.queue) == 0


def _b64(md5_hex: str) -> str:
    import base64

    return base64.b64encode(bytes.fromhex(md5_hex)).decode()
