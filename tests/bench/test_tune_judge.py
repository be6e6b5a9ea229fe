"""`edgekit tune` with exports made on another machine (a workstation's cache handed to a board): each is judged
again here, with this machine's runtimes, instead of trusting the other machine's gate."""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path

import pytest

from edgekit.bench.tune import References, TuneOptions, prepare_trial
from edgekit.bench.tune_trials import Trial
from edgekit.device.profiles import load_profile
from edgekit.export.report import report_paths
from tests.helpers import DEFAULT_MODEL, IMAGES, LABELS

NAMES = ["Normal", "Fall"]


def _as_if_made_elsewhere(artifact: str) -> None:
    """Rewrite the cached report as another machine's, with figures this machine's runtimes would not give."""
    js = report_paths(Path(artifact))[0]
    d = json.loads(js.read_text())
    d["machine"] = "elsewhere"
    d["source_accuracy"]["map50_95"] = 99.0
    if d["accuracy"] is not None:
        d["accuracy"]["map50_95"], d["map_drop"] = 12.0, 87.0
    js.write_text(json.dumps(d))


def test_a_cached_export_gated_on_another_machine_is_judged_again_here(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("openvino")
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    val = tmp_path / "val"
    for sub in ("images", "labels"):
        (val / sub).mkdir(parents=True)
    for name in ("bus", "zidane"):
        shutil.copy2(IMAGES / f"{name}.jpg", val / "images")
        shutil.copy2(LABELS / f"{name}.txt", val / "labels")
    opts, prof = TuneOptions(val=val), load_profile("rpi5")
    base_t, ov_t = Trial("onnxruntime", "fp32", 160, 2, True), Trial("openvino", "fp32", 160, 2, True)
    base = prepare_trial(base_t, DEFAULT_MODEL, prof, opts, None, NAMES)
    ov = prepare_trial(ov_t, DEFAULT_MODEL, prof, opts, base, NAMES)
    assert (base.status, ov.status) == ("measured", "measured"), (base.why, ov.why)
    assert base.judged_on == ov.judged_on == platform.machine() and base.map50_95 and ov.map50_95

    _as_if_made_elsewhere(base.artifact)
    _as_if_made_elsewhere(ov.artifact)
    trusted = prepare_trial(ov_t, DEFAULT_MODEL, prof, opts, base)  # no labels: the other machine's verdict
    assert trusted.judged_on == "elsewhere" and trusted.map50_95 == 12.0 and trusted.status == "dropped"

    refs: References = {}
    base2 = prepare_trial(base_t, DEFAULT_MODEL, prof, opts, None, NAMES, refs)
    ov2 = prepare_trial(ov_t, DEFAULT_MODEL, prof, opts, base2, NAMES, refs)
    assert base2.judged_on == ov2.judged_on == platform.machine()
    assert (base2.map50_95, ov2.map50_95, ov2.map_drop) == (base.map50_95, ov.map50_95, ov.map_drop)
    assert ov2.status == "measured" and len(refs) == 1  # one FP32 reference served both
