"""What a fired rule leads to (``alerts.handler``): the annotated snapshot is written first, so the event in the store
and on the broker carries its path; the rule's state turns ON and the JPEG goes to the camera's snapshot topic. A
listener that raises and a snapshot that cannot be written never stop the alert. Real store, link and Mosquitto."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from edgekit.config.cameras import CameraConfig
from edgekit.config.rules import RuleConfig
from edgekit.contract.topics import Topics
from edgekit.delivery.handler import EventHandler
from edgekit.delivery.outbox import Outbox
from edgekit.events.store import EventStore
from edgekit.tracking.rules import RuleEngine
from edgekit.types import Detections, Event, Frame
from tests.delivery.test_mqtt import link_for
from tests.helpers import Subacks, wait_until

CAM = CameraConfig(source="synthetic", zones={"door": {"polygon": [[100, 100], [500, 100], [500, 400], [100, 400]]}})
LABELS = ["Normal", "Fall"]


def fired() -> tuple[Event, Frame, Detections, RuleEngine]:
    """A person standing in the door zone of a grey frame, and the event its rule fired."""
    rules = RuleEngine("cam1", CAM, [RuleConfig(name="at_door", zone="door")], LABELS, device="dev")
    frame = Frame(np.full((480, 640, 3), 80, np.uint8), "cam1", 12)
    dets = Detections([[200, 150, 300, 380]], [0.9], [0], tracker_ids=[7])
    event = Event(rule="at_door", source="cam1", label="Normal", score=0.9, box=(200, 150, 300, 380),
                  start_ts=1000.0, track_id=7, device="dev", extra={"zone": "door"})
    return event, frame, dets, rules


def test_snapshot_store_broker_and_rule_state(broker, consumer_factory, tmp_path):
    c = consumer_factory(["edgekit/dev/#"])
    link = link_for(broker.port, Outbox(tmp_path / "outbox.db"))
    subacks = Subacks(link.client)
    link.start()
    subacks.wait(count=1)
    store = EventStore(tmp_path / "events.db")
    seen: list[Event] = []
    handler = EventHandler(tmp_path / "snapshots", store, snapshot_topic=True, link=link, on_event=seen.append)

    def broken_listener(event: Event, frame: Frame) -> None:
        raise RuntimeError("a dashboard that fails")

    handler.on_stored.append(broken_listener)
    event, frame, dets, rules = fired()
    out = handler.handle(event, frame, dets, rules, LABELS)
    try:
        snap = Path(str(out.snapshot))
        assert snap == tmp_path / "snapshots" / "cam1" / f"{event.id}.jpg"
        jpeg = snap.read_bytes()
        picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == frame.image.shape
        assert not np.array_equal(picture, frame.image)  # annotated: boxes and the zone drawn on it
        assert not list(snap.parent.glob("*.tmp"))  # written whole, then moved into place
        stored = store.get(event.id)
        assert stored is not None and stored.snapshot == str(snap)
        assert seen == [out]
        t = Topics("edgekit", "dev")
        wait_until(lambda: c.events() and c.payloads(t.snapshot("cam1")) and c.payloads(t.rule_state("cam1", "at_door")),
                   30, what=lambda: f"the event, its snapshot and the rule state on MQTT: {c.messages}")
        (sent,) = c.events()
        assert sent["id"] == event.id and sent["snapshot"] == str(snap)
        assert c.payloads(t.snapshot("cam1")) == [jpeg]
        assert c.payloads(t.rule_state("cam1", "at_door")) == [b"ON"]
        assert json.loads(c.payloads(t.rule_attributes("cam1", "at_door"))[0])["id"] == event.id
    finally:
        link.stop()
        store.close()


def test_a_snapshot_that_cannot_be_written_never_stops_the_alert(tmp_path):
    blocked = tmp_path / "snapshots"
    blocked.write_text("a file where the snapshot folder should be")  # every write under it fails (OSError)
    store = EventStore(tmp_path / "events.db")
    seen: list[Event] = []
    handler = EventHandler(blocked, store, on_event=seen.append)
    event, frame, dets, rules = fired()
    try:
        out = handler.handle(event, frame, dets, rules, LABELS)
        assert out.snapshot is None
        stored = store.get(event.id)
        assert stored is not None and stored.snapshot is None
        assert seen == [out]
    finally:
        store.close()
