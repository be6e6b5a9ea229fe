"""``edgekit export --to ncnn``: pnnx's graph at 320, FP32 and FP16 weights, gated against the FP32 source (ONNX
Runtime) on the validation images like every other target, and planned for a profile that asks for ncnn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit.backends import open_backend
from edgekit.device.host import HostInfo
from edgekit.device.modelcards import resolve_model
from edgekit.device.plan import plan_runtime
from edgekit.device.profiles import load_profile
from edgekit.errors import EdgekitError
from edgekit.export import ExportOptions, export
from edgekit.export.report import report_paths
from tests.helpers import DEFAULT_MODEL, REPO, SHARED

pytest.importorskip("ncnn", reason="needs the [ncnn] extra")

from edgekit.backends.ncnn import NcnnBackend
from edgekit.export.onnx2ncnn import pnnx_binary

DATA = SHARED / "data"

try:
    pnnx_binary()
except EdgekitError:
    pytest.skip("needs pnnx: pip install --no-deps pnnx", allow_module_level=True)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_the_graph_is_gated_reported_and_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, precision: str
) -> None:
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    rep = export(DEFAULT_MODEL, ExportOptions(target="ncnn", precision=precision, imgsz=320, val=DATA, generated=2))
    art = Path(rep.artifact or "")
    assert art.name == f"yolov8s-fall-320_{precision}.ncnn.param" and art.is_file()
    weights = art.with_suffix(".bin")
    assert rep.extra["weights"] == str(weights) and weights.name == f"yolov8s-fall-320_{precision}.ncnn.bin"
    assert rep.artifact_bytes == art.stat().st_size + weights.stat().st_size  # the report counts both files
    fp32_bytes = (art.parent / "yolov8s-fall-320_fp32.onnx").stat().st_size
    assert weights.stat().st_size < 0.6 * fp32_bytes if precision == "fp16" else weights.stat().st_size > 0.9 * fp32_bytes
    # pnnx's own side files (its graph, Python, ONNX round trips) stay out of the export folder
    assert not [p.name for p in art.parent.iterdir() if "pnnx" in p.name or p.name.endswith(".py")]
    # the gate: ONNX Runtime's FP32 detections found again on every validation image, mAP within the limit
    assert rep.passed, json.dumps(rep.model_dump(mode="json"), indent=1)[:2000]
    assert rep.accuracy is not None and rep.accuracy.map50 > 50
    assert rep.map_drop is not None and abs(rep.map_drop) <= rep.max_map_drop
    assert rep.parity["box_recall"] == 1.0 and rep.parity["mean_iou"] >= 0.99, rep.parity
    assert rep.parity["max_score_diff"] <= 0.01, rep.parity
    assert [a.name for a in rep.attempts] == [f"ncnn-{precision}"] and rep.converter.startswith("pnnx ")
    js, md = report_paths(art)
    assert json.loads(js.read_text())["passed"] is True and "ncnn" in md.read_text()
    be = open_backend(art)
    assert isinstance(be, NcnnBackend) and be.precision == precision and be.inputs[0].shape == (1, 3, 320, 320)
    be.close()

    # A profile that asks for it runs it where ncnn imports, and says what stands in where it does not.
    profile = tmp_path / "desktop-ncnn.yaml"
    text = (REPO / "devices" / "desktop.yaml").read_text().replace("name: desktop", "name: desktop-ncnn")
    profile.write_text(text.replace("backend: onnxruntime", "backend: ncnn")
                       .replace("precision: fp32", f"precision: {precision}").replace("imgsz: 640", "imgsz: 320"))
    card, path = resolve_model("yolov8s-fall")
    host = HostInfo(board="desktop", model="x86-64", cores=2, ram_mb=8000, runtimes={"onnxruntime": True})
    with_ncnn = HostInfo(**{**host.__dict__, "runtimes": {"onnxruntime": True, "ncnn": True}})
    plan = plan_runtime(load_profile(profile), with_ncnn, path, card)
    assert (plan.backend, plan.model_path, plan.precision, plan.substitutions) == ("ncnn", art, precision, [])
    plan = plan_runtime(load_profile(profile), host, path, card)
    assert plan.backend == "onnxruntime" and plan.model_path.suffix == ".onnx"  # the source, or its FP32 at 320
    assert f"ncnn {precision.upper()} → ONNX Runtime CPU (no ncnn runtime here)" in plan.substitutions
