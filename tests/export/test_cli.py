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


def _flat_head(tmp: Path) -> Path:
    """An ONNX whose output looks like a detector's ([1, 6, 4096]) but has no anchor grid: a conv, reshaped."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 6, 4096])
    w = numpy_helper.from_array(np.ones((6, 3, 1, 1), np.float32), "w")
    shape = numpy_helper.from_array(np.array([1, 6, 4096], np.int64), "shape")
    nodes = [helper.make_node("Conv", ["images", "w"], ["c"]), helper.make_node("Reshape", ["c", "shape"], ["out"])]
    graph = helper.make_graph(nodes, "flat", [x], [y], [w, shape])
    p = tmp / "flat.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(p))
    return p


def _not_a_folder(tmp: Path) -> Path:
    f = tmp / "a-file"  # a cache path under a plain file cannot be created, even by root
    f.write_text("x")
    return f


CASES = [
    ("not a model", lambda t: [str(_not_a_model(t)), "--to", "onnx"], "is not an ONNX model"),
    ("wrong outputs", lambda t: [str(_wrong_outputs(t)), "--to", "onnx"], "expected [1, 4 + classes, anchors]"),
    ("missing file", lambda t: [str(t / "nope.onnx")], "model file not found"),
    ("unknown target", lambda t: [str(DEFAULT_MODEL), "--to", "coreml"], "unknown export target 'coreml'"),
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
    (
        "calib is the val set",
        lambda t: [str(DEFAULT_MODEL), "--precision", "int8", "--val", str(DATA), "--calib", str(DATA / "images")],
        "shares 7 image(s) with --val",
    ),
    ("gated without val", lambda t: [str(DEFAULT_MODEL), "--precision", "int8"], "pass --val DIR"),
    ("imgsz not a multiple of 32", lambda t: [str(DEFAULT_MODEL), "--imgsz", "330"], "multiple of 32 between 160 and 1280"),
    ("imgsz too large", lambda t: [str(DEFAULT_MODEL), "--imgsz", "1312"], "multiple of 32 between 160 and 1280"),
    ("not a YOLO head", lambda t: [str(_flat_head(t)), "--imgsz", "320"], "not a recognisable YOLOv8/YOLO11 detection head"),
    ("unwritable cache", lambda t: [str(DEFAULT_MODEL), "--cache-env", str(_not_a_folder(t))], "cannot write exports"),
    ("unknown profile", lambda t: [str(DEFAULT_MODEL), "--profile", "toaster"], "unknown device profile"),
    ("bad weight width", lambda t: [str(DEFAULT_MODEL), "--int8-weights", "6"], "--int8-weights must be auto, 8 or 7"),
    ("missing recipe", lambda t: ["--recipe", str(t / "none.yaml")], "export recipe not found"),
]


@pytest.mark.parametrize(("case", "args", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, case: str, args: object, message: str) -> None:
    argv = list(args(tmp_path))  # type: ignore[operator]
    if "--cache-env" in argv:  # the cache itself is unwritable: no --out, EDGEKIT_CACHE points at a read-only folder
        i = argv.index("--cache-env")
        env = {"EDGEKIT_CACHE": str(Path(argv[i + 1]) / "cache")}
        del argv[i : i + 2]
        r = run_cli("export", *argv, env=env, timeout=300)
    else:
        r = run_cli("export", *argv, "--out", str(tmp_path / "out"), timeout=300)
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
