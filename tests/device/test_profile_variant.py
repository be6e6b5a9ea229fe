"""An INT8 export made by `edgekit export` is what an INT8 profile then runs (real quantisation; slow)."""

import json

import pytest

from tests.helpers import DEFAULT_MODEL, IMAGES, SHARED, run_cli


@pytest.mark.slow
def test_rpi5_profile_runs_the_int8_export(tmp_path):
    r = run_cli("export", str(DEFAULT_MODEL), "--precision", "int8", "--val", str(SHARED / "data"),
                "--generated", "8", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "export-out" / "yolov8s-fall_int8.onnx").is_file()
    r = run_cli("detect", str(IMAGES / "zidane.jpg"), "--profile", "rpi5", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["plan"]["precision"] == "int8" and out["plan"]["model"].endswith("export-out/yolov8s-fall_int8.onnx")
    assert not any("no int8 variant" in s for s in out["plan"]["substitutions"])
    assert len(out["frames"][0]["detections"]) >= 2  # the INT8 model still finds both people
