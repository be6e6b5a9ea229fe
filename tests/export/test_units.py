"""Export building blocks on real data: format table, validation sets, the evaluator, Edge TPU/TensorRT plumbing."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from edgekit.backends.tensorrt_build import workspace_for
from edgekit.backends.tensorrt_engine import EngineSidecar, read_sidecar, sidecar_path
from edgekit.device.profiles import list_profiles
from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.export import evaluate, valset
from edgekit.export.formats import FORMATS, check_precision, get_format, target_for_profile
from edgekit.export.quantize import decode_tail_nodes, output_tail_nodes
from edgekit.export.tflite2edgetpu import cpu_op_names, parse_log, tflite2edgetpu
from edgekit.types import Detections
from tests.helpers import DEFAULT_MODEL, SHARED

DATA = SHARED / "data"


@pytest.mark.parametrize(
    ("name", "precision", "error"),
    [
        ("onnx", "int8", None),
        ("TFLite", "fp16", None),
        ("edgetpu", "int8", None),
        ("tensorrt", "fp16", None),
        ("edgetpu", "fp32", "does not support"),
        ("openvino", "bf16", None),
        ("openvino", "int8", None),
        ("ncnn", "fp16", None),
        ("ncnn", "int8", "does not support"),
        ("coreml", "fp32", "unknown export target"),
    ],
)
def test_format_table(name: str, precision: str, error: str | None) -> None:
    if error is None:
        fmt = get_format(name)
        assert check_precision(fmt, precision) == precision
        assert fmt.suffix.endswith((".onnx", ".tflite", ".engine", ".xml", ".ncnn.param"))
    else:
        with pytest.raises(EdgekitError, match=error):
            check_precision(get_format(name), precision)


def test_every_bundled_profile_maps_to_a_target() -> None:
    seen = {target_for_profile(p)[0].name for p in list_profiles()}
    assert seen <= set(FORMATS)
    assert {"onnx", "tensorrt", "edgetpu"} <= seen


def test_real_labels_load_from_coco_and_yolo_alike(tmp_path: Path) -> None:
    coco = valset.load_folder(DATA)
    assert sum(len(s.boxes) for s in coco) == 8
    # Same images with only the YOLO txt labels: the boxes agree within the ±1 px of normalised rounding.
    (tmp_path / "images").symlink_to(DATA / "images")
    (tmp_path / "labels").symlink_to(DATA / "labels")
    yolo = {s.name: s.boxes for s in valset.load_folder(tmp_path)}
    for s in coco:
        assert np.abs(yolo[s.name] - s.boxes).max(initial=0) < 2.0


def test_folder_without_labels_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes((DATA / "images" / "bus.jpg").read_bytes())
    with pytest.raises(EdgekitError, match="has no labels"):
        valset.load_folder(tmp_path)


def test_generated_set_is_deterministic_and_boxes_fit() -> None:
    real = valset.load_folder(DATA)
    a = valset.generate(real, n=6, seed=3, use_mask=False)
    b = valset.generate(real, n=6, seed=3, use_mask=False)
    c = valset.generate(real, n=6, seed=4, use_mask=False)
    assert all(np.array_equal(x.image, y.image) and np.array_equal(x.boxes, y.boxes) for x, y in zip(a, b, strict=True))
    assert not all(
        x.image.shape == y.image.shape and np.array_equal(x.image, y.image) for x, y in zip(a, c, strict=True)
    )
    for s in a:
        h, w = s.image.shape[:2]
        assert len(s.boxes) >= 1
        assert (s.boxes[:, :2] >= 0).all() and (s.boxes[:, 2] <= w).all() and (s.boxes[:, 3] <= h).all()
        assert (s.boxes[:, 2:] - s.boxes[:, :2] >= 8).all()


def test_split_is_disjoint_deterministic_and_each_half_can_make_composites() -> None:
    real = valset.load_folder(DATA)
    calib, val = valset.split(real)
    assert {s.name for s in calib}.isdisjoint({s.name for s in val})
    assert {s.name for s in calib} | {s.name for s in val} == {s.name for s in real}
    assert [s.name for s in valset.split(real)[1]] == [s.name for s in val]
    assert val[0].name == "bus.jpg"  # the busiest photo is judged on, not calibrated on
    for half in (calib, val):
        assert any(len(s.boxes) for s in half) and any(not len(s.boxes) for s in half)
        assert len(valset.generate(half, n=2, seed=0, use_mask=False)) == 2


def test_shipped_validation_set_is_in_the_package() -> None:
    assert valset.SHIPPED.is_relative_to(Path(valset.__file__).resolve().parents[1])
    shipped = {s.name: s.boxes for s in valset.load_folder(valset.SHIPPED)}
    assert {s.name: s.boxes.tolist() for s in valset.load_folder(DATA)} == {k: v.tolist() for k, v in shipped.items()}
    assert "smoke test" in (valset.SHIPPED / "README.md").read_text()


def test_generated_set_round_trips_through_yolo_files(tmp_path: Path) -> None:
    gen = valset.generate(valset.load_folder(DATA), n=3, seed=1, use_mask=False)
    back = {s.name: s for s in valset.load_folder(valset.save(gen, tmp_path))}
    for s in gen:
        assert np.abs(back[s.name].boxes - s.boxes).max() < 2.0


def test_coco_map_scores_truth_as_100_and_shifted_boxes_lower() -> None:
    samples = valset.load_folder(DATA)
    perfect = [Detections(s.boxes, np.full(len(s.boxes), 0.9), np.zeros(len(s.boxes))) for s in samples]
    m = evaluate.coco_map(samples, perfect, ["Normal", "Fall"])
    assert (m["map50_95"], m["map50"], m["images"], m["boxes"]) == (100.0, 100.0, 7, 8)
    # Every shipped box is an upright person (Normal); Fall has no labelled box, so it is not judged.
    assert m["per_class"] == {
        "Normal": {"boxes": 8, "map50_95": 100.0, "map50": 100.0},
        "Fall": {"boxes": 0, "map50_95": None, "map50": None},
    }
    # The right boxes with the wrong class: perfect class-agnostic, zero for the class.
    wrong = [Detections(d.xyxy, d.scores, np.ones(len(d))) for d in perfect]
    m = evaluate.coco_map(samples, wrong, ["Normal", "Fall"])
    assert m["map50_95"] == 100.0 and m["per_class"]["Normal"]["map50_95"] == 0.0
    # Every box moved right by 10 % of its width: IoU ≈ 0.82, so all count at IoU 0.5 but not at 0.85+.
    shift = [np.float32(0.1) * (s.boxes[:, 2] - s.boxes[:, 0]) for s in samples]
    moved = [
        Detections(s.boxes + np.stack([dx, 0 * dx, dx, 0 * dx], 1), d.scores, d.class_ids)
        for s, d, dx in zip(samples, perfect, shift, strict=True)
    ]
    m = evaluate.coco_map(samples, moved)
    assert m["map50"] == 100.0 and 50 < m["map50_95"] < 90


def test_decode_tail_of_the_real_head() -> None:
    tail = decode_tail_nodes(DEFAULT_MODEL)
    assert len(tail) == 18 and all(n.startswith("/model.22/") for n in tail)
    assert tail[0] == "/model.22/Concat_3" and tail[-1] == "/model.22/Concat_5"
    assert {"/model.22/Sigmoid", "/model.22/dfl/Softmax"} <= set(tail)
    assert output_tail_nodes(DEFAULT_MODEL) == ["/model.22/Concat_5", "/model.22/Sigmoid"]


EDGETPU_LOG = """Edge TPU Compiler version 16.0.384591198
Model compiled successfully in 1203 ms.

Input model: m_int8.tflite
Output model: m_int8_edgetpu.tflite
Number of Edge TPU subgraphs: 1
Total number of operations: 240
Operation log: m_int8_edgetpu.log

Operator                       Count      Status

CONV_2D                        64         Mapped to Edge TPU
LOGISTIC                       58         Mapped to Edge TPU
CONCATENATION                  2          More than one subgraph is not supported
SOFTMAX                        1          Operation is otherwise supported, but not mapped due to some unspecified limitation
"""


def test_edgetpu_log_counts_tpu_and_cpu_ops() -> None:
    assert parse_log(EDGETPU_LOG) == (122, 3)
    assert cpu_op_names(EDGETPU_LOG) == [
        "CONCATENATION ×2 (More than one subgraph is not supported)",
        "SOFTMAX ×1 (Operation is otherwise supported, but not mapped due to some unspecified limitation)",
    ]
    summary = "Number of operations that will run on Edge TPU: 230\nNumber of operations that will run on CPU: 10\n"
    assert parse_log(summary) == (230, 10)


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_edgetpu_compiler_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EDGEKIT_EDGETPU_COMPILER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="apt-get install edgetpu-compiler"):
        tflite2edgetpu(tmp_path / "m_int8.tflite", tmp_path)


def test_edgetpu_compiler_failure_removes_its_stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A stand-in for the compiler's known failure mode: exit 1 with a stub output left behind.
    exe = _script(
        tmp_path / "edgetpu_compiler",
        'echo "Internal compiler error. Aborting!"; touch "$3/m_int8_edgetpu.tflite"; exit 1\n',
    )
    monkeypatch.setenv("EDGEKIT_EDGETPU_COMPILER", str(exe))
    src = tmp_path / "m_int8.tflite"
    src.write_bytes(b"x")
    with pytest.raises(EdgekitError, match=r"failed \(exit 1\).*Internal compiler error"):
        tflite2edgetpu(src, tmp_path / "out")
    assert not (tmp_path / "out" / "m_int8_edgetpu.tflite").exists()


def test_engine_sidecar_round_trip_and_workspace(tmp_path: Path) -> None:
    engine = tmp_path / "m_fp16.engine"
    engine.write_bytes(b"\x00plain engine bytes")
    side = EngineSidecar(source="m.onnx", precision="fp16", imgsz=640, labels=["Normal", "Fall"], tensorrt="10.9")
    assert side.write(engine) == sidecar_path(engine) == tmp_path / "m_fp16.engine.json"
    assert read_sidecar(engine) == side
    assert engine.read_bytes().startswith(b"\x00plain")  # nothing prepended to the engine itself
    sidecar_path(engine).write_text("{not json")
    with pytest.raises(EdgekitError, match="invalid engine sidecar"):
        read_sidecar(engine)
    assert workspace_for(8192) == 4096 and workspace_for(1024) == 512 and workspace_for(100) == 256


def test_tensorrt_absent_is_one_clear_line() -> None:
    try:
        import tensorrt

        if hasattr(tensorrt, "Builder"):  # the bindings-only wheel imports as an empty namespace
            pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    from edgekit.backends.tensorrt_engine import import_tensorrt

    with pytest.raises(MissingDependencyError, match="TensorRT") as e:
        import_tensorrt()
    assert "\n" not in str(e.value)


def test_match_is_one_to_one() -> None:
    ref = Detections([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.8], [0, 0])
    got = Detections([[0, 0, 10, 10], [1, 1, 11, 11]], [0.9, 0.8], [0, 0])
    ious = evaluate._match(ref, got)
    assert ious[0] == pytest.approx(1.0) and ious[1] == 0.0


def test_first_start_engine_build_without_tensorrt_says_how_to_get_it(tmp_path):
    """On a board whose TensorRT is missing, the first-start build fails in one line with the install hint."""
    from edgekit.backends.tensorrt_build import ensure_engine
    from edgekit.backends.tensorrt_engine import import_tensorrt

    try:
        import_tensorrt()
        pytest.skip("TensorRT is installed here")
    except MissingDependencyError:
        pass
    with pytest.raises(MissingDependencyError) as e:
        ensure_engine(tmp_path / "m.onnx", tmp_path / "m.engine", precision="fp16", imgsz=640, labels=["a"])
    msg = str(e.value)  # this venv has the bindings-only namespace package: "runtime library (libnvinfer)"
    assert "\n" not in msg and msg.startswith("TensorRT") and "is not available" in msg
    assert "JetPack" in msg and "pip install 'edgekit[tensorrt]'" in msg
    assert not (tmp_path / "m.engine").exists()
