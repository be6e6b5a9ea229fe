"""Three cameras on one backend at once: each thread gets the outputs of its own input, never another's.

LiteRT holds one interpreter (one set of input/output tensors) per backend; without the backend's lock, a thread's
``set_tensor`` lands between another's ``set_tensor`` and ``invoke`` and both read the same result. ONNX Runtime
sessions are safe to call from several threads by design; the test holds it to that as well, on the real model.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from edgekit.backends import Backend, BackendOptions, open_backend
from edgekit.export.onnx2tflite import converter_python
from tests.helpers import DEFAULT_MODEL

MAKE_MODEL = r"""
import sys, numpy as np, tensorflow as tf
rng = np.random.default_rng(0)

class Net(tf.Module):
    def __init__(self):
        self.w = [tf.Variable(rng.normal(0, 0.2, s).astype(np.float32))
                  for s in [(3, 3, 3, 16), (3, 3, 16, 16), (1, 1, 16, 4)]]

    @tf.function(input_signature=[tf.TensorSpec((1, 64, 64, 3), tf.float32)])
    def __call__(self, x):
        for w in self.w[:-1]:
            x = tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME"))
        return tf.nn.conv2d(x, self.w[-1], 1, "SAME")

tf.saved_model.save(Net(), sys.argv[1] + "/saved")
open(sys.argv[1] + "/net.tflite", "wb").write(tf.lite.TFLiteConverter.from_saved_model(sys.argv[1] + "/saved").convert())
"""


def hammer(backend: Backend, inputs: list[np.ndarray], rounds: int) -> list[int]:
    """Each input on its own thread, ``rounds`` times; returns per thread how many outputs were not its own."""
    want = [backend.infer([x])[0] for x in inputs]
    wrong = [0] * len(inputs)
    errors: list[BaseException] = []
    start = threading.Barrier(len(inputs))

    def run(i: int) -> None:
        try:
            start.wait()
            for _ in range(rounds):
                if not np.allclose(backend.infer([inputs[i]])[0], want[i], rtol=1e-4, atol=1e-4):
                    wrong[i] += 1
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return wrong


@pytest.fixture(scope="module")
def tflite_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("ai_edge_litert", reason="needs the [tflite] extra")
    py = converter_python()
    if subprocess.run([py, "-c", "import tensorflow"], capture_output=True).returncode != 0:
        pytest.skip("needs TensorFlow (scripts/install_export.sh makes .venv-export)")
    out = tmp_path_factory.mktemp("shared")
    subprocess.run([py, "-c", MAKE_MODEL, str(out)], check=True, capture_output=True, timeout=600)
    return out / "net.tflite"


@pytest.mark.slow
def test_three_cameras_share_one_litert_interpreter(tflite_model: Path) -> None:
    be = open_backend(tflite_model, BackendOptions(threads=1))
    rng = np.random.default_rng(3)
    inputs = [rng.random((1, 64, 64, 3), dtype=np.float32) * (k + 1) for k in range(3)]
    try:
        assert hammer(be, inputs, rounds=300) == [0, 0, 0]
    finally:
        be.close()


@pytest.mark.slow
def test_three_cameras_share_one_onnxruntime_session() -> None:
    if not DEFAULT_MODEL.exists():
        pytest.skip(f"{DEFAULT_MODEL} missing")
    be = open_backend(DEFAULT_MODEL, BackendOptions(threads=1))
    rng = np.random.default_rng(4)
    inputs = [rng.random((1, 3, 640, 640), dtype=np.float32) for _ in range(3)]
    try:
        assert hammer(be, inputs, rounds=2) == [0, 0, 0]
    finally:
        be.close()
