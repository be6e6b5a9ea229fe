"""What happens when a rule fires: an annotated snapshot, the event store, the outbox and the rule's state.

The camera workers hand every fired :class:`~edgekit.types.Event` here with its frame and detections; the
snapshot is written first so the stored and published event carry its path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from edgekit.contract.jpeg import encode_jpeg
from edgekit.delivery.mqtt import MqttLink
from edgekit.delivery.snapshot import render_snapshot, write_snapshot
from edgekit.events.store import EventStore
from edgekit.storage.s3 import S3Uploader
from edgekit.tracking.rules import RuleEngine
from edgekit.types import Detections, Event, Frame

log = logging.getLogger(__name__)


class EventHandler:
    """Snapshot → store → outbox (through the link, when there is one) → rule state ``ON``; then ``on_event``."""

    def __init__(self, snapshots: Path, store: EventStore, *, quality: int = 85, snapshot_topic: bool = False,
                 link: MqttLink | None = None, on_event: Callable[[Event], None] | None = None,
                 uploader: S3Uploader | None = None, on_stored: Sequence[Callable[[Event, Frame], None]] = ()) -> None:
        self.snapshots, self.store, self.quality = snapshots, store, quality
        self.snapshot_topic, self.link, self.on_event = snapshot_topic, link, on_event
        self.uploader = uploader  # S3: the event carries its snapshot's key; JSON and JPEG go to the upload queue
        #: called with each stored event and its frame (e.g. the dashboard); a failure here never stops the alert
        self.on_stored = list(on_stored)

    def handle(self, event: Event, frame: Frame, dets: Detections, rules: RuleEngine, labels: Sequence[str]) -> Event:
        """Deliver one fired event; returns it with its snapshot path."""
        zone = event.extra.get("zone")
        poly = rules.zones[zone].polygon if zone in rules.zones else None
        jpeg = encode_jpeg(render_snapshot(frame.image, dets, labels, event, poly), self.quality)
        try:
            event = replace(event, snapshot=str(write_snapshot(self.snapshots, event, jpeg)))
        except OSError as e:  # a full disk loses the picture, never the alert
            log.error("snapshot of event %s not written (%s); the event is sent without it", event.id, e)
        if self.uploader is not None:
            event = self.uploader.with_keys(event)
        self.store.add(event)
        for listener in self.on_stored:
            try:
                listener(event, frame)
            except Exception:
                log.exception("a listener failed on event %s", event.id)
        if self.link is not None:
            self.link.publish_event(event, t_capture_ns=frame.t_capture_ns)
            self.link.set_rule_state(event.source, event.rule, True, attributes=event.to_json())
            if self.snapshot_topic:
                self.link.publish_snapshot(event.source, jpeg)
        if self.uploader is not None:
            try:
                self.uploader.enqueue_event(event)
            except Exception:  # the upload queue failing never stops the alert
                log.exception("event %s not queued for upload", event.id)
        log.info("event %s %s on %s (track %s)", event.rule, event.label, event.source, event.track_id)
        if self.on_event is not None:
            self.on_event(event)
        return event
