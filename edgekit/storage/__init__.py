"""Optional upload of snapshots and event JSON to S3-compatible storage, through a durable queue."""

from edgekit.storage.queue import UploadJob, UploadQueue
from edgekit.storage.s3 import S3Uploader, object_keys

__all__ = ["S3Uploader", "UploadJob", "UploadQueue", "object_keys"]
