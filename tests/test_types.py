import dataclasses

import numpy as np
import pytest

from edgekit.types import EVENT_SCHEMA_VERSION, Detections, Event


def make(n: int = 3) -> Detections:
    xyxy = np.array([[0, 0, 10, 10], [5, 5, 20, 30], [100, 100, 150, 200]], np.float32)[:n]
    return Detections(xyxy, [0.9, 0.4, 0.7][:n], [0, 1, 0][:n])


def test_mask_slice_and_index_return_detections():
    d = make()
    hi = d[d.scores > 0.5]
    assert len(hi) == 2 and hi.class_ids.tolist() == [0, 0]
    assert len(d[1:]) == 2
    one = d[2]
    assert len(one) == 1 and one.xyxy.shape == (1, 4) and float(one.scores[0]) == pytest.approx(0.7)


def test_empty_is_valid_everywhere():
    e = Detections.empty()
    assert len(e) == 0 and e.xyxy.shape == (0, 4)
    assert len(e[e.scores > 0.5]) == 0
    assert e.anchors.shape == (0, 2)
    assert e.to_records() == []
    assert len(Detections.concat([e, e])) == 0
    assert len(Detections.concat([])) == 0


def test_concat_keeps_optional_fields_only_when_all_have_them():
    a = make(2).with_(tracker_ids=[1, 2])
    b = make(1).with_(tracker_ids=[7])
    both = Detections.concat([a, b])
    assert both.tracker_ids is not None and both.tracker_ids.tolist() == [1, 2, 7]
    assert Detections.concat([a, make(1)]).tracker_ids is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"xyxy": [[0, 0, 1]], "scores": [0.5], "class_ids": [0]}, "xyxy must be N×4"),
        ({"xyxy": [[0, 0, 1, 1]], "scores": [0.5, 0.6], "class_ids": [0]}, "xyxy has 1 rows"),
        ({"xyxy": [[0, 0, 1, 1]], "scores": [0.5], "class_ids": [0, 1]}, "class_ids has 2 rows"),
        (
            {"xyxy": [[0, 0, 1, 1]], "scores": [0.5], "class_ids": [0], "keypoints": np.zeros((1, 17, 2))},
            "keypoints",
        ),
    ],
)
def test_validation_names_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Detections(**kwargs)


def test_anchor_is_bottom_centre_and_records_have_labels():
    d = make(1)
    assert d.anchors.tolist() == [[5.0, 10.0]]
    rec = d.to_records(["person", "fall"])[0]
    assert rec["label"] == "person" and rec["box"] == [0.0, 0.0, 10.0, 10.0]


def test_event_json_round_trip_and_schema_check():
    e = Event(
        rule="zone", source="cam1", label="Fall", score=0.8, box=(1, 2, 3, 4), start_ts=10.0, track_id=3
    )
    back = Event.from_json(e.to_json())
    assert back == e and len(e.id) == 36
    with_clip = Event.from_json(dataclasses.replace(e, clip="/c/x.mp4").to_json())
    assert with_clip.clip == "/c/x.mp4" and with_clip.schema_version == EVENT_SCHEMA_VERSION == 2
    v1 = {k: v for k, v in e.to_dict().items() if k != "clip"} | {"schema_version": 1}
    assert Event.from_dict(v1).clip is None  # version 1 events (before clips) are still read
    bad = e.to_dict() | {"schema_version": 99}
    with pytest.raises(ValueError, match="schema_version"):
        Event.from_dict(bad)
    with pytest.raises(ValueError, match="malformed"):
        Event.from_dict({"schema_version": 1, "id": "x"})
