"""An INT8 export made by `edgekit export` is what an INT8 profile then runs, from any folder (real quantisation;
slow)."""

import json

import pytest

from tests.helpers import DEFAULT_MODEL, IMAGES, REPO, SHARED, run_cli


@pytest.mark.slow
def test_int8_profile_runs_the_cached_int8_export_from_another_folder(tmp_path):
    env = {"EDGEKIT_CACHE": str(tmp_path / "cache")}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # Calibrated on the demo's own frames (edgekit/assets), disjoint from the validation photos. The default split
    # of the 7 shared photos leaves too few calibration images at 640: that export fails the gate (a known issue).
    r = run_cli("export", str(DEFAULT_MODEL), "--precision", "int8", "--val", str(SHARED / "data"),
                "--calib", str(REPO / "edgekit" / "assets"), "--generated", "8", "--json", cwd=tmp_path / "a", env=env)
    assert r.returncode == 0, r.stderr
    art = json.loads(r.stdout)["artifact"]
    assert art.startswith(str(tmp_path / "cache" / "exports")) and art.endswith("yolov8s-fall-640_int8.onnx")
    assert not (tmp_path / "a" / "export-out").exists()
    prof = tmp_path / "pi640.yaml"  # rpi5 at the shipped model's own size
    prof.write_text((REPO / "devices" / "rpi5.yaml").read_text().replace("imgsz: 416", "imgsz: 640"))
    r = run_cli("detect", str(IMAGES / "zidane.jpg"), "--profile", str(prof), "--json", cwd=tmp_path / "b", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["plan"]["precision"], out["plan"]["imgsz"], out["plan"]["model"]) == ("int8", 640, art)
    assert not any("model" in s or "input" in s for s in out["plan"]["substitutions"])
    assert len(out["frames"][0]["detections"]) >= 2  # the INT8 model still finds both people
