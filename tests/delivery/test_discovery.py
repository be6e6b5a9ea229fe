"""Home Assistant MQTT discovery, checked field by field against HA's documented schema (a JSON Schema subset
written from home-assistant.io's camera.mqtt / binary_sensor.mqtt / sensor.mqtt pages, unknown keys refused).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from edgekit import __version__
from edgekit.config.daemon import DaemonConfig
from edgekit.delivery.discovery import dashboard_url, discovery_messages

SCHEMA = json.loads((Path(__file__).with_name("ha_mqtt_discovery.schema.json")).read_text())
TOPIC = re.compile(r"^homeassistant/(camera|binary_sensor|sensor)/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)/config$")
LABELS = ["Normal", "Fall"]


def porch_config(device: str = "porch-pi", **mqtt: object) -> DaemonConfig:
    return DaemonConfig.model_validate({
        "device": device, "profile": "rpi5",
        "cameras": {
            "porch": {"source": "synthetic", "zones": {
                "path": {"polygon": [[300, 720], [980, 720], [760, 300], [520, 300]]},
                "door step": {"polygon": [[0, 0], [100, 0], [100, 100]]}}},
            "garage": {"source": "synthetic:1"},
        },
        "rules": [
            {"name": "person_on_path", "cameras": ["porch"], "labels": ["Normal", "Fall"], "zone": "path"},
            {"name": "fall", "labels": ["Fall"], "pose": None, "min_frames": 3},
        ],
        "mqtt": {"snapshots": "topic"} | mqtt,
    })


def validate(messages: list[tuple[str, str]]) -> list[tuple[str, dict]]:
    out = []
    for topic, payload in messages:
        m = TOPIC.match(topic)
        assert m, f"not a discovery topic Home Assistant reads: {topic}"
        doc = json.loads(payload)
        errors = sorted(jsonschema.Draft202012Validator(SCHEMA["$defs"][m.group(1)]).iter_errors(doc), key=str)
        assert not errors, f"{topic}: " + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
        out.append((m.group(1), doc))
    return out


def by_uid(msgs: list[tuple[str, dict]]) -> dict[str, tuple[str, dict]]:
    return {d["unique_id"]: (c, d) for c, d in msgs}


def test_every_message_matches_home_assistants_schema_and_the_entities_are_there():
    msgs = validate(discovery_messages(porch_config(), {"porch": LABELS, "garage": LABELS},
                                       dashboard_url("0.0.0.0", 8971)))
    ents = by_uid(msgs)
    assert len(ents) == len(msgs), "unique ids must be unique"
    n = "edgekit_porch-pi"
    # the daemon itself, each camera (online + last snapshot), each rule on its cameras, counts per zone × label
    expected = {
        f"{n}_online": "binary_sensor",
        f"{n}_porch_online": "binary_sensor", f"{n}_garage_online": "binary_sensor",
        f"{n}_porch_snapshot": "camera", f"{n}_garage_snapshot": "camera",
        f"{n}_porch_person_on_path": "binary_sensor", f"{n}_porch_fall": "binary_sensor",
        f"{n}_garage_fall": "binary_sensor",
        f"{n}_porch_path_Normal_count": "sensor", f"{n}_porch_path_Fall_count": "sensor",
        f"{n}_porch_door_step_Normal_count": "sensor", f"{n}_porch_door_step_Fall_count": "sensor",
    }
    assert {u: c for u, (c, _) in ents.items()} == expected
    cam = ents[f"{n}_porch_snapshot"][1]
    assert cam["topic"] == "edgekit/porch-pi/porch/snapshot"
    rule = ents[f"{n}_porch_person_on_path"][1]
    assert rule["state_topic"] == "edgekit/porch-pi/porch/person_on_path/state"
    assert rule["json_attributes_topic"] == "edgekit/porch-pi/porch/person_on_path/attributes"
    assert {a["topic"] for a in rule["availability"]} == {"edgekit/porch-pi/available",
                                                          "edgekit/porch-pi/porch/available"}
    count = ents[f"{n}_porch_door_step_Fall_count"][1]
    assert count["state_topic"] == "edgekit/porch-pi/porch/count/door step/Fall"
    assert count["state_class"] == "measurement"
    daemon = ents[f"{n}_online"][1]
    assert daemon["state_topic"] == "edgekit/porch-pi/available" and "availability" not in daemon
    # one device per board, with what Home Assistant shows on its device page
    devices = {json.dumps(d["device"], sort_keys=True) for _, d in msgs}
    assert len(devices) == 1
    dev = msgs[0][1]["device"]
    assert dev["identifiers"] == [n] and dev["model"] == "Raspberry Pi 5 Model B (8 GB)"
    assert dev["sw_version"] == __version__ and dev["manufacturer"] == "edgekit"
    assert re.fullmatch(r"http://[^/:]+:8971", dev["configuration_url"])


def test_unique_ids_are_stable_and_differ_between_boards():
    a1 = by_uid(validate(discovery_messages(porch_config("porch-pi"), {"porch": LABELS})))
    a2 = by_uid(validate(discovery_messages(porch_config("porch-pi"), {"porch": LABELS})))
    b = by_uid(validate(discovery_messages(porch_config("shed-pi"), {"porch": LABELS})))
    assert set(a1) == set(a2) and a1 == a2  # a restart announces the very same entities
    assert not set(a1) & set(b)
    assert {d["device"]["identifiers"][0] for _, d in a1.values()}.isdisjoint(
        {d["device"]["identifiers"][0] for _, d in b.values()})


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"topic": "x", "colour": "red"}, "Additional properties"),  # a misspelt key
        ({}, "'topic' is a required property"),
        ({"topic": "x", "availability": [{"topic": "a"}], "availability_topic": "a"}, "should not be valid"),
        ({"topic": "x", "device": {"name": "no identifiers"}}, "is not valid under any of the given schemas"),
        ({"topic": "x", "device": {"identifiers": ["a"], "configuration_url": "ftp://x"}}, "does not match"),
    ],
)
def test_the_schema_catches_what_home_assistant_would_refuse(bad, error):
    """The checker is not a rubber stamp: payloads HA rejects (or silently ignores keys of) fail it."""
    errs = [e.message for e in jsonschema.Draft202012Validator(SCHEMA["$defs"]["camera"]).iter_errors(bad)]
    assert any(error in m for m in errs), errs


def test_no_mqtt_no_discovery_and_no_labels_no_count_sensors():
    cfg = porch_config()
    assert discovery_messages(cfg.model_copy(update={"mqtt": None})) == []
    comps = [c for c, _ in validate(discovery_messages(cfg))]
    assert "sensor" not in comps and "camera" in comps
    path_only = porch_config(snapshots="path")  # JPEGs not published: no camera entity to show them
    assert "camera" not in [c for c, _ in validate(discovery_messages(path_only))]
