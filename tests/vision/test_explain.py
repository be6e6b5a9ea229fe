"""EigenCAM on the real detector: the heat map sits on the people of a shared photo, the deployed model is untouched."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import cv2
import numpy as np
import onnx
import pytest

from edgekit.errors import EdgekitError
from edgekit.vision.explain import EigenCam, HeatMap, eigen_projection, head_feature_maps
from tests.helpers import DEFAULT_MODEL, IMAGES, yolo_labels


@pytest.fixture(scope="module")
def cam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EigenCam]:
    with pytest.MonkeyPatch.context() as mp:  # the cached copy goes to a fresh cache folder
        mp.setenv("EDGEKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield EigenCam(DEFAULT_MODEL)


def test_head_inputs_are_found_by_structure() -> None:
    maps = head_feature_maps(onnx.load(str(DEFAULT_MODEL)))
    # YOLOv8: the three neck outputs at strides 8, 16, 32 feed the head's box and class branches.
    assert len(maps) == 3


def test_heat_map_mass_lies_on_the_people(cam: EigenCam) -> None:
    img = cv2.imread(str(IMAGES / "zidane.jpg"))
    boxes = yolo_labels("zidane.jpg", img.shape)
    heat = cam.explain(img)
    assert heat.values.shape == img.shape[:2]
    assert heat.method == "EigenCAM"
    inside = heat.mass_inside(boxes)
    area = HeatMap(np.full(img.shape[:2], 1.0, np.float32)).mass_inside(boxes)  # a flat map's share
    assert inside > 0.75, f"only {inside:.2f} of the heat map lies on the people"
    assert inside > area + 0.1, f"heat on the people {inside:.2f} is no better than their area {area:.2f}"


def test_model_file_is_not_changed(cam: EigenCam) -> None:
    before = hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest()
    cam.explain(cv2.imread(str(IMAGES / "bus.jpg")))
    assert hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest() == before
    assert cam.path != DEFAULT_MODEL and cam.path.is_file()


def test_projection_sign_follows_the_strong_features() -> None:
    fmap = np.zeros((8, 10, 10), np.float32)
    fmap[:, 2:5, 2:5] = np.arange(1, 9, dtype=np.float32)[:, None, None]  # a bright blob in every channel
    m = eigen_projection(fmap)
    assert m[3, 3] > 0 and m[3, 3] == m.max() and m[8, 8] == 0


@pytest.mark.parametrize("name", ["model.tflite", "model.engine"])
def test_non_onnx_models_are_refused(tmp_path, name) -> None:
    p = tmp_path / name
    p.write_bytes(b"x")
    with pytest.raises(EdgekitError, match="ONNX"):
        EigenCam(p)
