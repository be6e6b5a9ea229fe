"""`edgekit export` bad input: one clear line on stderr and exit 2, run as a user would (subprocess)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import DEFAULT_MODEL, SHARED, run_cli

DATA = SHARED / "data"


def _no_label_folder(tmp: Path) -> Path:
    d = tmp / "val"
    d.mkdir()
    shutil.copy(DATA / "images" / "bus.jpg", d / "bus.jpg")
    return d


def _not_a_model(tmp: Path) -> Path:
    p = tmp / "notes.onnx"
    p.write_text("this is a text file, not a model\n")
    return p


def _wrong_outputs(tmp: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])
    y = helper.make_tensor_value_info("feat", TensorProto.FLOAT, [1, 3, 1, 1])
    graph = helper.make_graph([helper.make_node("GlobalAveragePool", ["images"], ["feat"])], "g", [x], [y])
    p = tmp / "classifier.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(p))
    return p


CASES = [
    ("not a model", lambda t: [str(_not_a_model(t)), "--to", "onnx"], "is not an ONNX model"),
    ("wrong outputs", lambda t: [str(_wrong_outputs(t)), "--to", "onnx"], "expected [1, 4 + classes, anchors]"),
    ("missing file", lambda t: [str(t / "nope.onnx")], "model file not found"),
    ("unknown target", lambda t: [str(DEFAULT_MODEL), "--to", "openvino"], "unknown export target 'openvino'"),
    ("bad precision", lambda t: [str(DEFAULT_MODEL), "--to", "edgetpu", "--precision", "fp16"], "does not support"),
    (
        "empty calib",
        lambda t: [
            str(DEFAULT_MODEL),
            "--precision",
            "int8",
            "--val",
            str(DATA),
            "--calib",
            str(Path(t, "empty").mkdir() or Path(t, "empty")),
        ],
        "has no images",
    ),
    (
        "val without labels",
        lambda t: [str(DEFAULT_MODEL), "--precision", "fp16", "--val", str(_no_label_folder(t))],
        "has no labels",
    ),
    ("gated without val", lambda t: [str(DEFAULT_MODEL), "--precision", "int8"], "pass --val DIR"),
    ("imgsz mismatch", lambda t: [str(DEFAULT_MODEL), "--imgsz", "320"], "fixed input size 640"),
    ("unknown profile", lambda t: [str(DEFAULT_MODEL), "--profile", "toaster"], "unknown device profile"),
    ("missing recipe", lambda t: ["--recipe", str(t / "none.yaml")], "export recipe not found"),
]


@pytest.mark.parametrize(("case", "args", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, case: str, args: object, message: str) -> None:
    r = run_cli("export", *args(tmp_path), "--out", str(tmp_path / "out"), timeout=300)  # type: ignore[operator]
    assert r.returncode == 2, (case, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert message in lines[0]
    assert "Traceback" not in r.stderr


def test_tensorrt_without_tensorrt_is_one_line(tmp_path: Path) -> None:
    try:
        import tensorrt

        if hasattr(tensorrt, "Builder"):  # the bindings-only wheel imports as an empty namespace
            pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    # --to names the engine itself: without TensorRT that is one line, exit 2, before any work.
    r = run_cli("export", str(DEFAULT_MODEL), "--to", "tensorrt", "--precision", "fp16", "--out", str(tmp_path))
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: TensorRT") and "JetPack" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
