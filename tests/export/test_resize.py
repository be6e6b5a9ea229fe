"""The shipped 640 detector resized on its ONNX graph (no torch) matches Ultralytics' own 320 export box for box."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from edgekit.backends import open_backend
from edgekit.errors import EdgekitError
from edgekit.export.resize_head import anchor_count, resize_head
from edgekit.vision.detector import Detector
from tests.helpers import DEFAULT_MODEL, IMAGES, REPO, iou_matrix

GOLDEN = REPO / "tests" / "golden" / "ultralytics_yolov8s-fall_320.json"


@pytest.fixture(scope="module")
def resized_320(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return resize_head(DEFAULT_MODEL, tmp_path_factory.mktemp("resize") / "yolov8s-fall-320.onnx", 320)


def test_resized_320_matches_ultralytics_box_for_box(resized_320: Path) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert golden["imgsz"] == 320 and golden["conf"] == 0.25 and golden["iou"] == 0.7
    det = Detector(open_backend(resized_320), ["Normal", "Fall"], conf=0.25, iou=0.7)
    assert det.input_hw == (320, 320)
    boxes = 0
    for photo, ref in golden["images"].items():
        dets = det.detect(cv2.imread(str(IMAGES / photo)))
        assert len(dets) == len(ref), photo
        if not ref:
            continue
        ious = iou_matrix(np.array([r["xyxy"] for r in ref]), dets.xyxy)
        j = ious.argmax(axis=1)
        assert len(set(j.tolist())) == len(ref), photo
        for i, r in enumerate(ref):
            assert ious[i, j[i]] >= 0.98, (photo, i, ious[i, j[i]])
            assert int(dets.class_ids[j[i]]) == r["class_id"], photo
            assert abs(float(dets.scores[j[i]]) - r["score"]) <= 0.01, photo
            boxes += 1
    assert boxes == 9


@pytest.mark.parametrize("imgsz", [160, 416, 1280])
def test_other_sizes_run_with_the_right_anchor_count(tmp_path: Path, imgsz: int) -> None:
    out = resize_head(DEFAULT_MODEL, tmp_path / f"m{imgsz}.onnx", imgsz)
    be = open_backend(out)
    y = be.infer([np.zeros((1, 3, imgsz, imgsz), np.float32)])[0]
    assert y.shape == (1, 6, anchor_count(imgsz, (8, 16, 32)))
    meta = {m.key: m.value for m in onnx.load(str(out), load_external_data=False).metadata_props}
    assert meta["imgsz"] == f"[{imgsz}, {imgsz}]"


@pytest.mark.parametrize(("imgsz", "message"), [(330, "multiple of 32"), (128, "between 160 and 1280"), (1312, "1280")])
def test_bad_sizes_are_refused(tmp_path: Path, imgsz: int, message: str) -> None:
    with pytest.raises(EdgekitError, match=message):
        resize_head(DEFAULT_MODEL, tmp_path / "x.onnx", imgsz)
    assert not (tmp_path / "x.onnx").exists()


def test_a_head_with_an_unknown_size_constant_is_refused(tmp_path: Path) -> None:
    # The real model with one more constant that holds the anchor count: a graph we do not know how to rewrite.
    m = onnx.load(str(DEFAULT_MODEL))
    m.graph.initializer.append(onnx.numpy_helper.from_array(np.zeros((3, 8400), np.float32), "mystery"))
    src = tmp_path / "odd.onnx"
    onnx.save(m, str(src))
    with pytest.raises(EdgekitError, match=r"not a recognisable YOLOv8/YOLO11 detection head.*mystery"):
        resize_head(src, tmp_path / "y.onnx", 320)
