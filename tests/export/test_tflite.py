"""TFLite export of the real default detector through onnx2tf, run by the LiteRT backend and gated (slow)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgekit.backends import open_backend
from edgekit.export import ExportOptions, export
from edgekit.export.onnx2tflite import SAMPLE_FILE, converter_python
from tests.helpers import DEFAULT_MODEL, SHARED

DATA = SHARED / "data"

pytest.importorskip("ai_edge_litert", reason="needs the [tflite] extra")


def _converter() -> None:
    code = "import onnx2tf, tensorflow, tf_keras, onnx_graphsurgeon, sng4onnx"
    if subprocess.run([converter_python(), "-c", code], capture_output=True).returncode != 0:
        pytest.skip("needs the onnx2tf converter (scripts/install_export.sh makes .venv-export)")


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_tflite_runs_in_litert_and_is_gated(tmp_path_factory: pytest.TempPathFactory, precision: str) -> None:
    _converter()
    # One output folder for the three precisions: onnx2tf writes all of them in one run, later ones reuse it.
    out = Path(tmp_path_factory.getbasetemp()) / "tflite-export"
    rep = export(DEFAULT_MODEL, ExportOptions(target="tflite", precision=precision, val=DATA, generated=8, out=out))
    art = Path(rep.artifact or "")
    assert art.suffix == ".tflite" and art.is_file()
    assert (out / "onnx2tf" / SAMPLE_FILE).is_file()  # written from our images, never downloaded
    sample = np.load(out / "onnx2tf" / SAMPLE_FILE)
    assert sample.shape == (20, 128, 128, 3) and sample.dtype == np.float32 and 0 <= sample.min() <= sample.max() <= 1
    be = open_backend(art)
    assert be.inputs[0].shape == (1, 640, 640, 3) and be.inputs[0].dtype == "float32"
    if precision == "int8":
        raw = be.quantization[be.inputs[0].name]  # type: ignore[attr-defined]
        assert raw[0] == "int8"  # full-integer model with int8 IO; the backend feeds it float
    be.close()
    assert rep.box_scale == 640.0  # boxes normalised inside the model so INT8 keeps its scores
    assert rep.accuracy is not None and rep.source_accuracy is not None
    assert rep.accuracy.map50 > 50, rep.accuracy  # finds the people (naive full INT8 scores 0 here)
    assert rep.parity["box_recall"] >= 0.9
    assert rep.map_drop is not None and rep.passed == (rep.map_drop <= rep.max_map_drop)
    if precision != "int8":
        assert rep.passed, json.dumps(rep.model_dump(mode="json"), indent=1)[:2000]
    # Full-integer TFLite at 640 measured a 5.2-point mAP50-95 drop here (it passed at 320): the gate reports it
    # and refuses it rather than the test demanding a pass the converter does not give.
