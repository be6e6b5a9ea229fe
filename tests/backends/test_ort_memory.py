"""ONNX Runtime's memory settings (issue 16) change how much memory a run keeps, never what it computes."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.backends import BackendOptions, open_backend
from edgekit.device.host import probe_host
from edgekit.device.plan import plan_runtime
from edgekit.device.profiles import load_profile
from edgekit.sources import SyntheticScene
from edgekit.vision.preprocess import letterbox
from tests.helpers import DEFAULT_MODEL


def test_small_boards_ask_for_lean_memory_and_the_desktop_does_not():
    plan = lambda name: plan_runtime(load_profile(name), probe_host(), DEFAULT_MODEL)
    assert plan("rpi5").options.lean_memory and plan("rpi4").options.lean_memory
    assert not plan("desktop").options.lean_memory


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="default model missing")
def test_lean_and_default_sessions_compute_the_same_outputs_run_after_run():
    x, _ = letterbox(SyntheticScene.random(0).render(2.0)[0], (640, 640))
    outs = []
    for lean in (False, True):
        be = open_backend(DEFAULT_MODEL, BackendOptions(threads=1, lean_memory=lean))
        # the first run (arena shrunk after it, without lean memory) and the later ones agree
        runs = [be.infer([x])[0] for _ in range(3)]
        be.close()
        assert all(np.array_equal(runs[0], r) for r in runs[1:])
        outs.append(runs[0])
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-4)
