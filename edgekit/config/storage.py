"""The ``storage.s3`` section: optional upload of snapshots and event JSON to S3-compatible storage.

Credentials never live in the file: boto3 reads them from the environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, or ``AWS_PROFILE``), like every other S3 tool. Works with MinIO, SeaweedFS, Cloudflare
R2 (set ``endpoint_url``) and AWS S3 (leave it out).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class S3Config(BaseModel):
    """Where and how the uploader puts objects."""

    model_config = ConfigDict(extra="forbid")

    bucket: str = Field(description="Bucket name (3-63 characters: lower-case letters, digits, '.', '-').")
    endpoint_url: str | None = Field(None, description="http(s)://host:port of MinIO/SeaweedFS/R2; omit for AWS S3.")
    region: str | None = Field(None, description="Region name; most S3-compatible servers accept any.")
    prefix: str = Field("edgekit", description="Key prefix: objects go to <prefix>/<device>/<YYYY-MM-DD>/<event id>.")
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        "path", description="'path' works with every S3-compatible server; AWS and R2 also take 'virtual'."
    )
    snapshots: bool = Field(True, description="Upload each event's snapshot JPEG.")
    events: bool = Field(True, description="Upload each event's JSON.")
    queue: str | None = Field(None, description="SQLite upload queue; default <state_dir>/uploads.db.")
    backoff_min_s: float = Field(1.0, gt=0, description="First retry delay after a failed upload.")
    backoff_max_s: float = Field(300.0, gt=0, description="Longest retry delay (doubles up to this).")
    timeout_s: float = Field(10.0, gt=0, description="Connect and read timeout of one request.")
    ca_bundle: str | None = Field(None, description="CA file for an endpoint with a private certificate.")

    @field_validator("bucket")
    @classmethod
    def verify_bucket(cls, v: str) -> str:
        if not _BUCKET_RE.match(v) or ".." in v:
            raise ValueError(f"bucket {v!r} is not a valid S3 bucket name (3-63 of a-z 0-9 . -, no '..')")
        return v

    @field_validator("endpoint_url")
    @classmethod
    def verify_endpoint(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"endpoint_url {v!r} must start with http:// or https:// and name a host")
        return v

    @field_validator("prefix")
    @classmethod
    def verify_prefix(cls, v: str) -> str:
        return v.strip("/")

    @model_validator(mode="after")
    def verify_backoff(self) -> S3Config:
        if self.backoff_max_s < self.backoff_min_s:
            raise ValueError("backoff_max_s must be >= backoff_min_s")
        if not (self.snapshots or self.events):
            raise ValueError("storage.s3 uploads nothing: set snapshots or events to true (or remove the section)")
        return self


class StorageConfig(BaseModel):
    """The daemon's ``storage:`` section."""

    model_config = ConfigDict(extra="forbid")

    s3: S3Config | None = Field(None, description="Upload snapshots and event JSON to S3-compatible storage.")
