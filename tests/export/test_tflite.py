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
@pytest.mark.timeout(3600)  # onnx2tf's INT8 run (it also writes int16-activation variants) took >15 min on busy cores
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_tflite_runs_in_litert_and_is_gated(tmp_path_factory: pytest.TempPathFactory, precision: str) -> None:
    _converter()
    # One output folder for the three precisions: onnx2tf writes all of them in one run, later ones reuse it.
    out = Path(tmp_path_factory.getbasetemp()) / "tflite-export"
    opts = ExportOptions(target="tflite", precision=precision, imgsz=320, val=DATA, generated=8, out=out)
    rep = export(DEFAULT_MODEL, opts)
    art = Path(rep.artifact or "")
    assert art.suffix == ".tflite" and art.is_file()
    assert (out / "onnx2tf" / SAMPLE_FILE).is_file()  # written from our images, never downloaded
    sample = np.load(out / "onnx2tf" / SAMPLE_FILE)
    assert sample.shape == (20, 128, 128, 3) and sample.dtype == np.float32 and 0 <= sample.min() <= sample.max() <= 1
    be = open_backend(art)
    assert be.inputs[0].shape == (1, 320, 320, 3) and be.inputs[0].dtype == "float32"
    if precision == "int8":
        raw = be.quantization[be.inputs[0].name]  # type: ignore[attr-defined]
        assert raw[0] == "int8"  # full-integer model with int8 IO; the backend feeds it float
    be.close()
    assert rep.box_scale == 320.0  # boxes normalised inside the model so INT8 keeps its scores
    assert rep.accuracy is not None and rep.source_accuracy is not None
    assert rep.accuracy.map50 > 50, rep.accuracy  # finds the people (naive full INT8 scores 0 here)
    assert rep.parity["box_recall"] >= 0.9
    assert rep.map_drop is not None and rep.passed == (rep.map_drop <= rep.max_map_drop)
    # At 320 every precision passes (full-integer TFLite at 640 measured a 5.2-point drop: the gate refuses that).
    assert rep.passed, json.dumps(rep.model_dump(mode="json"), indent=1)[:2000]
    if precision == "int8":
        assert [a.name for a in rep.attempts] == ["tflite-int8-full"]  # the ladder stops at the first pass
        assert rep.calibration is not None and rep.validation is not None
        assert set(rep.calibration.real).isdisjoint(rep.validation.real)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_tflite_int8_ladder_reports_every_attempt_and_keeps_the_best_failure(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    _converter()
    out = Path(tmp_path_factory.getbasetemp()) / "tflite-export"  # reuses the per-channel conversion above
    # A limit no attempt can meet walks the whole ladder: int8 IO, float IO, per-tensor weights.
    opts = ExportOptions(target="tflite", precision="int8", imgsz=320, val=DATA, generated=8, out=out, max_map_drop=-50)
    rep = export(DEFAULT_MODEL, opts)
    assert [a.name for a in rep.attempts] == ["tflite-int8-full", "tflite-int8-float-io", "tflite-int8-per-tensor"]
    assert not rep.passed and all(a.accuracy is not None and a.accuracy.map50 > 50 for a in rep.attempts)
    assert {a.note for a in rep.attempts} == {"per-channel weights, int8 IO", "per-channel weights, float32 IO",
                                              "per-tensor weights, int8 IO"}
    kept = [a.artifact for a in rep.attempts if a.artifact]
    assert len(kept) == 1 and kept[0].endswith(".FAILED.tflite") and Path(kept[0]).is_file()
    be = open_backend(Path(kept[0]))
    assert be.inputs[0].shape == (1, 320, 320, 3)
    be.close()
