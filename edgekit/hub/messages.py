"""What the hub receives, checked before anything reaches the database.

A board sends on ``<prefix>/<device>/events`` (Event JSON, QoS 1), ``<prefix>/<device>/available``
(``online``/``offline``, retained, the last will) and ``<prefix>/<device>/stats`` (stats JSON). Every message is
turned into exactly one ``Parsed``: a row to write, or a reject with its reason. Size and nesting depth are checked
on the raw bytes before ``json.loads`` runs, so no payload can make the parser recurse or allocate without bound.

The board a message belongs to is the one its topic names: the central broker's ACL (``edgekit fleet
credentials``) lets each board's login write only under its own name. A payload that names another device is
rejected (:data:`FOREIGN_DEVICE`), not stored under the topic's name: the daemon always sends its own name in both,
so a mismatch is a misconfigured or lying board, and its snapshot key and content would be credited to the wrong one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from edgekit.contract.payload import json_too_deep
from edgekit.types import EVENT_SCHEMA_VERSION, Event

Kind = Literal["event", "available", "stats", "reject"]
_DEVICE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
#: the reject reason of a payload that names another device than its topic
FOREIGN_DEVICE = "device differs from the topic's"


@dataclass(slots=True)
class Incoming:
    """One MQTT message as it came off the network (``gen`` is the connection it arrived on)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    gen: int
    received: float


@dataclass(slots=True)
class Parsed:
    """A checked message: ``kind`` says which table it goes to; rejects carry ``reason``."""

    kind: Kind
    topic: str
    device: str | None
    received: float
    event: Event | None = None
    online: bool | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    size: int = 0
    sample: str = ""


def split_topic(topic: str, prefix: str) -> tuple[str, str] | None:
    """``<prefix>/<device>/<kind>`` → ``(device, kind)``; None for anything else."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1:].split("/")
    if len(parts) != 2 or parts[1] not in ("events", "available", "stats"):
        return None
    return parts[0], parts[1]


def _reject(msg: Incoming, device: str | None, reason: str) -> Parsed:
    sample = msg.payload[:200].decode("utf-8", "replace").replace("\x00", "\\0")
    return Parsed("reject", msg.topic, device, msg.received, reason=reason, size=len(msg.payload), sample=sample)


def _clean(value: Any) -> Any:
    # PostgreSQL's text and jsonb refuse NUL characters: a board sending one must not block the batch it is in.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def parse(msg: Incoming, prefix: str, max_bytes: int, max_depth: int) -> Parsed:
    """Check one message; never raises."""
    where = split_topic(msg.topic, prefix)
    if where is None:
        return _reject(msg, None, "unexpected topic")
    device, kind = where
    if not _DEVICE_RE.match(device):
        return _reject(msg, None, "bad device name")
    if len(msg.payload) > max_bytes:
        return _reject(msg, device, f"oversized ({len(msg.payload)} > {max_bytes} bytes)")
    if kind == "available":
        text = msg.payload.strip().lower()
        if text not in (b"online", b"offline", b"1", b"0"):  # 1/0: a board's Mosquitto bridge (its last will)
            return _reject(msg, device, "availability is neither online nor offline")
        return Parsed("available", msg.topic, device, msg.received, online=text in (b"online", b"1"),
                      size=len(msg.payload))
    if json_too_deep(msg.payload, max_depth):
        return _reject(msg, device, f"JSON nested deeper than {max_depth}")
    try:
        data = json.loads(msg.payload)
    except (ValueError, RecursionError) as e:
        return _reject(msg, device, f"not JSON ({type(e).__name__})")
    if not isinstance(data, dict):
        return _reject(msg, device, "not a JSON object")
    data = _clean(data)
    named = data.get("device")
    if named not in (None, "", device):
        return _reject(msg, device, f"{FOREIGN_DEVICE} (payload says {str(named)[:64]!r})")
    if kind == "stats":
        return Parsed("stats", msg.topic, device, msg.received, stats=data, size=len(msg.payload))
    version = data.get("schema_version")
    if version != EVENT_SCHEMA_VERSION:
        return _reject(msg, device, f"unknown schema_version {version!r} (hub reads {EVENT_SCHEMA_VERSION})")
    try:
        event = Event.from_dict(data)
    except (ValueError, TypeError, OverflowError) as e:
        why = str(e)
        return _reject(msg, device, why if why.startswith("malformed event") else f"malformed event: {why}")
    if not event.id or len(event.id) > 200 or len(event.box) != 4:
        return _reject(msg, device, "malformed event: id must be 1-200 characters and box 4 numbers")
    return Parsed("event", msg.topic, device, msg.received, event=event, size=len(msg.payload))
