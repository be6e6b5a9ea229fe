"""Per-label object filters and masks: tables of cases on real Detections, and on the real detector's output."""

from __future__ import annotations

import contextlib

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from edgekit.config.objects import ObjectFilterConfig, ObjectsConfig
from edgekit.tracking.filters import ObjectFilter
from edgekit.types import Detections
from tests.helpers import DEFAULT_MODEL, IMAGES

LABELS = ["Normal", "Fall"]
SHAPE = (720, 1280)

# boxes: 0 small upright, 1 large upright, 2 wide (lying), 3 low score; classes Normal, Normal, Fall, Normal
DETS = Detections(
    xyxy=[[100, 100, 120, 150], [400, 100, 600, 600], [700, 500, 1000, 600], [900, 100, 1000, 400]],
    scores=[0.9, 0.8, 0.7, 0.3],
    class_ids=[0, 0, 1, 0],
)


@pytest.mark.parametrize(
    ("cfg", "kept"),
    [
        ({}, [0, 1, 2, 3]),
        ({"filters": {"Normal": {"min_area": 2000}}}, [1, 2, 3]),
        ({"filters": {"Normal": {"max_area": 50000}}}, [0, 2, 3]),
        ({"filters": {"Normal": {"min_score": 0.5}}}, [0, 1, 2]),
        ({"filters": {"Fall": {"min_score": 0.75}}}, [0, 1, 3]),
        ({"filters": {"Normal": {"max_ratio": 0.35}}}, [2, 3]),  # boxes 0 and 1 are 0.4 wide per height, 3 is 0.33
        ({"filters": {"Fall": {"min_ratio": 4.0}}}, [0, 1, 3]),  # 300/100 = 3 is not wide enough
        ({"masks": {"Normal": [[[350, 550], [650, 550], [650, 650], [350, 650]]]}}, [0, 2, 3]),  # feet of box 1
        ({"masks": {"Fall": [[[350, 550], [650, 550], [650, 650], [350, 650]]]}}, [0, 1, 2, 3]),  # other label
        ({"masks": {"Normal": [[[0, 0], [1280, 0], [1280, 300]]]}}, [0, 1, 2, 3]),  # covers tops, not anchors
        ({"masks": {"Normal": [[[0, 0], [50, 0], [50, 50]], [[850, 350], [1050, 350], [1050, 450]]]}}, [0, 1, 2]),
    ],
)
def test_filter_table(cfg, kept):
    f = ObjectFilter(ObjectsConfig.model_validate(cfg), LABELS)
    out = f.apply(DETS, SHAPE)
    expected = DETS[np.array(kept, dtype=np.int64)]
    np.testing.assert_array_equal(out.xyxy, expected.xyxy)
    np.testing.assert_array_equal(out.class_ids, expected.class_ids)


def test_empty_and_tracked_detections_pass_through():
    f = ObjectFilter(ObjectsConfig(filters={"Normal": ObjectFilterConfig(min_area=1)}), LABELS)
    assert len(f.apply(Detections.empty(), SHAPE)) == 0
    tracked = DETS.with_(tracker_ids=np.array([5, 6, 7, 8]))
    assert f.apply(tracked, SHAPE).tracker_ids.tolist() == [5, 6, 7, 8]


@pytest.mark.parametrize(
    ("cfg", "does_raise", "message"),
    [
        ({"filters": {"Normal": {"min_area": 10, "max_area": 5}}}, pytest.raises(ValidationError),
         "min_area 10 is larger than max_area 5"),
        ({"filters": {"Normal": {"min_ratio": 2, "max_ratio": 1}}}, pytest.raises(ValidationError),
         "min_ratio 2 is larger than max_ratio 1"),
        ({"filters": {"Normal": {"min_score": 1.5}}}, pytest.raises(ValidationError), "less than or equal to 1"),
        ({"filters": {"Normal": {"min_sore": 0.5}}}, pytest.raises(ValidationError), "Extra inputs"),
        ({"masks": {"Normal": [[[0, 0], [10, 10]]]}}, pytest.raises(ValidationError), "at least 3 points"),
        ({"masks": {"Normal": [[[0, 0], [10, 10], [10, 0], [0, 10]]]}}, pytest.raises(ValidationError), "cross"),
        ({"filters": {"Normal": {"min_area": 5, "max_area": 10}}}, contextlib.nullcontext(), ""),
    ],
)
def test_config_errors_name_the_problem(cfg, does_raise, message):
    with does_raise as ei:
        ObjectsConfig.model_validate(cfg)
    if message:
        assert message in str(ei.value)


def test_unknown_label_is_refused():
    with pytest.raises(ValueError, match=r"label 'person' is not a label of the model.*Normal"):
        ObjectFilter(ObjectsConfig(filters={"person": ObjectFilterConfig()}), LABELS)


def test_filters_on_the_real_detector_output():
    """bus.jpg through the shipped detector: a mask over the right half drops exactly the people standing there."""
    from edgekit.vision.detector import Detector

    img = cv2.imread(str(IMAGES / "bus.jpg"))
    det = Detector.load(str(DEFAULT_MODEL), conf=0.35)
    try:
        dets = det.detect(img)
    finally:
        det.close()
    h, w = img.shape[:2]
    assert len(dets) >= 3
    right = [[w / 2, 0], [w, 0], [w, h], [w / 2, h]]
    f = ObjectFilter(ObjectsConfig(masks={lb: [right] for lb in det.labels}), det.labels)
    out = f.apply(dets, (h, w))
    assert (out.anchors[:, 0] < w / 2).all()
    assert len(out) == int((dets.anchors[:, 0] < w / 2).sum()) < len(dets)
    # a minimum area above the largest person removes everyone; below the smallest keeps everyone
    big = ObjectFilter(ObjectsConfig(filters={lb: {"min_area": float(dets.areas.max()) + 1} for lb in det.labels}),
                       det.labels)
    assert len(big.apply(dets, (h, w))) == 0
    small = ObjectFilter(ObjectsConfig(filters={lb: {"min_area": float(dets.areas.min())} for lb in det.labels}),
                         det.labels)
    assert len(small.apply(dets, (h, w))) == len(dets)
