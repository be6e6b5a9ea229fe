"""ONNX exports of the real default detector, scored by the real evaluator (faster-coco-eval)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from edgekit.backends import open_backend
from edgekit.errors import EdgekitError
from edgekit.export import ExportOptions, export
from edgekit.export.onnx2onnx import onnx2onnx
from edgekit.export.report import report_paths
from tests.helpers import DEFAULT_MODEL, SHARED, run_cli

DATA = SHARED / "data"


def test_fp16_keeps_float32_io_and_matches_fp32(tmp_path: Path) -> None:
    r = run_cli(
        "export",
        str(DEFAULT_MODEL),
        "--precision",
        "fp16",
        "--val",
        str(DATA),
        "--generated",
        "0",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    art = Path(rep["artifact"])
    assert art.is_file() and art.stat().st_size < 0.6 * DEFAULT_MODEL.stat().st_size  # weights are half size
    be = open_backend(art)
    assert be.inputs[0].dtype == "float32" and be.outputs[0].dtype == "float32"
    assert rep["passed"] is True and rep["validation"]["images"] == len(rep["validation"]["real"]) == 7  # FP16: no calibration, all 7 judged
    assert any("smoke test" in n for n in rep["notes"])  # ../shared/data is the shipped set: said so
    assert rep["accuracy"]["per_class"]["Normal"]["boxes"] == rep["accuracy"]["boxes"] > 0
    assert rep["accuracy"]["per_class"]["Fall"] == {"boxes": 0, "map50_95": None, "map50": None}
    assert rep["parity"]["max_score_diff"] < 0.02 and rep["parity"]["box_recall"] >= 0.95
    assert abs(rep["map_drop"]) <= 1.0
    js, md = report_paths(art)
    assert json.loads(js.read_text())["precision"] == "fp16" and "PASSED" in md.read_text()


def test_opset_change_runs_and_static_batch_refuses_dynamic(tmp_path: Path) -> None:
    out = onnx2onnx(DEFAULT_MODEL, tmp_path / "o17.onnx", opset=17, simplify=False)
    m = onnx.load(str(out))
    assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    assert next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")) == 17
    # YOLOv8 exported with a static batch keeps constant reshapes: a dynamic axis must be refused, not shipped.
    with pytest.raises(EdgekitError, match="static batch baked into its reshapes"):
        onnx2onnx(DEFAULT_MODEL, tmp_path / "dyn.onnx", dynamic=True, simplify=False)
    be = open_backend(out)
    y = be.infer([np.zeros((1, 3, 640, 640), np.float32)])[0]
    assert y.shape == (1, 6, 8400)


@pytest.mark.slow
def test_int8_gate_reports_each_attempt(tmp_path: Path) -> None:
    rep = export(DEFAULT_MODEL, ExportOptions(precision="int8", val=DATA, generated=8, out=tmp_path))
    names = [a.name for a in rep.attempts]
    assert names[0] == "int8-full"
    full = rep.attempts[0]
    # The known failure: one output scale for pixel boxes and 0..1 scores zeroes every score.
    assert full.accuracy is not None and full.accuracy.map50_95 == 0.0 and not full.passed
    assert full.parity["export_boxes"] == 0
    later = rep.attempts[1]
    assert len(later.nodes_in_float) == 18 and later.accuracy is not None and later.accuracy.map50_95 > 30
    assert rep.calibration is not None and rep.calibration.images >= 7
    assert rep.passed == any(a.passed for a in rep.attempts)
    art = Path(rep.artifact or "")
    assert art.is_file() and report_paths(art)[0].is_file()
    assert ("FAILED" in art.name) != bool(rep.passed)
