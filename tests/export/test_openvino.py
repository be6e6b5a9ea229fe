"""``edgekit export --to openvino``: the IR legs at 320, gated against the FP32 source like every other target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit.backends import open_backend
from edgekit.device.host import HostInfo
from edgekit.device.modelcards import resolve_model
from edgekit.device.plan import plan_runtime
from edgekit.device.profiles import load_profile
from edgekit.export import ExportOptions, export
from edgekit.export.report import report_paths
from tests.helpers import DEFAULT_MODEL, REPO, SHARED

ov = pytest.importorskip("openvino", reason="needs the [openvino] extra")

from edgekit.backends.openvino import RT_INFO_PATH, OpenVINOBackend, bf16_capable  # noqa: E402

DATA = SHARED / "data"
GENERATED_INT8 = 8  # composites beside the real photos: enough for INT8's calibration and a steadier gate


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_the_ir_is_gated_reported_and_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, precision: str
) -> None:
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    rep = export(DEFAULT_MODEL, ExportOptions(target="openvino", precision=precision, imgsz=320, val=DATA,
                                              generated=2))
    art = Path(rep.artifact or "")
    assert art.name == f"yolov8s-fall-320_{precision}.xml" and art.is_file()
    weights = art.with_suffix(".bin")
    assert rep.extra["weights"] == str(weights)
    assert rep.artifact_bytes == art.stat().st_size + weights.stat().st_size  # the report counts both files
    fp32_bytes = (art.parent / "yolov8s-fall-320_fp32.onnx").stat().st_size
    if precision == "fp16":
        assert weights.stat().st_size < 0.6 * fp32_bytes  # FP16 weights: half the file
    else:
        assert weights.stat().st_size > 0.9 * fp32_bytes  # BF16 is an inference precision: FP32 weights
    want = "bf16" if precision == "bf16" else "f32"
    assert ov.Core().read_model(str(art)).get_rt_info(RT_INFO_PATH).astype(str) == want
    ran = want if want == "f32" or bf16_capable(ov.Core()) else "f32"
    assert rep.extra["inference_precision"] == ran
    assert any("BF16 inference not checked" in s for s in rep.skipped) == (want != ran)
    # the gate's verdict, from mAP on the validation set and the parity of the raw outputs
    assert rep.accuracy is not None and rep.source_accuracy is not None and rep.accuracy.map50 > 50
    assert rep.map_drop is not None and rep.passed == (rep.map_drop <= rep.max_map_drop)
    assert rep.passed, json.dumps(rep.model_dump(mode="json"), indent=1)[:2000]
    assert rep.parity["box_recall"] >= 0.9
    assert [a.name for a in rep.attempts] == [f"openvino-{precision}"]
    assert rep.converter.startswith("OpenVINO ")
    js, md = report_paths(art)
    assert json.loads(js.read_text())["passed"] is True and "openvino" in md.read_text()
    be = open_backend(art)
    assert isinstance(be, OpenVINOBackend) and be.precision == ran and be.inputs[0].shape == (1, 3, 320, 320)
    be.close()

    # A profile that asks for it runs it where OpenVINO imports, and says what stands in where it does not.
    profile = tmp_path / "desktop-openvino.yaml"
    text = (REPO / "devices" / "desktop.yaml").read_text().replace("name: desktop", "name: desktop-openvino")
    profile.write_text(text.replace("backend: onnxruntime", "backend: openvino")
                       .replace("precision: fp32", f"precision: {precision}").replace("imgsz: 640", "imgsz: 320"))
    card, path = resolve_model("yolov8s-fall")
    host = HostInfo(board="desktop", model="x86-64", cores=2, ram_mb=8000, runtimes={"onnxruntime": True})
    with_ov = HostInfo(**{**host.__dict__, "runtimes": {"onnxruntime": True, "openvino": True}})
    plan = plan_runtime(load_profile(profile), with_ov, path, card)
    assert (plan.backend, plan.model_path, plan.precision, plan.substitutions) == ("openvino", art, precision, [])
    plan = plan_runtime(load_profile(profile), host, path, card)
    assert plan.backend == "onnxruntime" and plan.model_path == path
    assert f"OpenVINO {precision.upper()} → ONNX Runtime CPU (no OpenVINO runtime here)" in plan.substitutions


def test_int8_through_nncf_keeps_the_decode_tail_in_float_and_is_gated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("nncf", reason="needs the [openvino] extra")
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    rep = export(DEFAULT_MODEL, ExportOptions(target="openvino", precision="int8", imgsz=320, val=DATA,
                                              generated=GENERATED_INT8))
    art = Path(rep.artifact or "")
    assert rep.passed, json.dumps(rep.model_dump(mode="json"), indent=1)[:3000]
    assert art.name == "yolov8s-fall-320_int8.xml" and rep.map_drop is not None and rep.map_drop <= 1.0
    # INT8 weights: a quarter of the FP32 file (plus the float tail and the scales)
    fp32_bytes = (art.parent / "yolov8s-fall-320_fp32.onnx").stat().st_size
    assert art.with_suffix(".bin").stat().st_size < 0.3 * fp32_bytes
    model = ov.Core().read_model(str(art))
    kinds = {op.get_type_name() for op in model.get_ordered_ops()}
    assert "FakeQuantize" in kinds  # what NNCF inserts; the CPU plugin runs those layers in INT8
    # the decode tail (found by structure: merge Concat → DFL, anchors, Sigmoid, output Concat) stays in float
    assert rep.nodes_in_float == rep.attempts[-1].nodes_in_float and len(rep.nodes_in_float) >= 10
    assert rep.attempts[0].name == "openvino-int8" and len(rep.attempts) <= 2  # the second rung only if needed
    assert any("Sigmoid" in n for n in rep.nodes_in_float) and any("dfl" in n for n in rep.nodes_in_float)
    assert rep.converter.startswith("NNCF ") and rep.int8_weights is not None
    assert rep.calibration is not None and rep.calibration.images >= 1
    assert not (set(rep.calibration.real) & set(rep.validation.real if rep.validation else []))
    be = open_backend(art)
    assert isinstance(be, OpenVINOBackend) and be.inputs[0].shape == (1, 3, 320, 320)
    be.close()
