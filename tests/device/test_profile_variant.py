"""An INT8 export made by `edgekit export` is what an INT8 profile then runs, from any folder (real quantisation;
slow)."""

import json

import pytest

from edgekit.device.cpu import host_cpu
from tests.helpers import DEFAULT_MODEL, IMAGES, REPO, SHARED, run_cli


@pytest.mark.slow
def test_int8_profile_runs_the_cached_int8_export_from_another_folder(tmp_path):
    env = {"EDGEKIT_CACHE": str(tmp_path / "cache")}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # The default split of the 7 shared photos: its calibration half (3 photos + 8 composites) is below the INT8
    # minimum, so it is topped up with shipped frames that the gate does not judge, and the report says so.
    r = run_cli("export", str(DEFAULT_MODEL), "--precision", "int8", "--val", str(SHARED / "data"),
                "--generated", "8", "--json", cwd=tmp_path / "a", env=env)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    cal = rep["calibration"]
    assert cal["real"] and set(cal["real"]).isdisjoint(rep["validation"]["real"])
    assert cal["topped_up"] == cal["images"] - len(cal["real"]) - cal["generated"] > 0 and "fewer than" in cal["why"]
    assert any(n.startswith("calibration: ") for n in rep["notes"])
    weights = rep["int8_weights"]  # no profile: this machine's CPU decides, and the report says which and why
    assert "this machine's CPU" in weights["why"] and f"{weights['bits']}-bit" in rep["converter"]
    passed = next(a for a in rep["attempts"] if a["passed"])
    if host_cpu().dot_product:  # 8-bit first; 7-bit only as the gate's fallback, and then the report says so
        assert rep["attempts"][0]["note"] == "8-bit weights"
        assert weights["bits"] == 8 or ("no 8-bit attempt passed" in weights["why"] and "7-bit" in passed["note"])
    else:
        assert weights["bits"] == 7 and all("7-bit" in a["note"] for a in rep["attempts"])
    art = rep["artifact"]
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
