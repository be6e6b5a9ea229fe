"""LiteRT backend on real TFLite files: float IO, and int8 IO (de)quantized by the tensor's own scale/zero point."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgekit.backends import BackendOptions, open_backend
from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.export.onnx2tflite import converter_python

pytest.importorskip("ai_edge_litert", reason="needs the [tflite] extra")

# A tiny conv net converted twice by TensorFlow's own TFLite converter: float, and full INT8 with int8 IO.
MAKE_MODELS = r"""
import sys, numpy as np, tensorflow as tf
out = sys.argv[1]
rng = np.random.default_rng(0)

class Net(tf.Module):
    def __init__(self):
        self.w1 = tf.Variable(rng.normal(0, 0.3, (3, 3, 3, 4)).astype(np.float32))
        self.w2 = tf.Variable(rng.normal(0, 0.3, (1, 1, 4, 2)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec((1, 16, 16, 3), tf.float32)])
    def __call__(self, x):
        return tf.nn.conv2d(tf.nn.relu(tf.nn.conv2d(x, self.w1, 1, "SAME")), self.w2, 1, "SAME")

tf.saved_model.save(Net(), out + "/saved")
conv = tf.lite.TFLiteConverter.from_saved_model(out + "/saved")
open(out + "/float.tflite", "wb").write(conv.convert())
conv.optimizations = [tf.lite.Optimize.DEFAULT]
conv.representative_dataset = lambda: ([rng.random((1, 16, 16, 3), dtype=np.float32)] for _ in range(32))
conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
conv.inference_input_type = tf.int8
conv.inference_output_type = tf.int8
open(out + "/int8.tflite", "wb").write(conv.convert())
"""


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    py = converter_python()
    if subprocess.run([py, "-c", "import tensorflow"], capture_output=True).returncode != 0:
        pytest.skip("needs TensorFlow (scripts/install_export.sh makes .venv-export)")
    out = tmp_path_factory.mktemp("tflite")
    subprocess.run([py, "-c", MAKE_MODELS, str(out)], check=True, capture_output=True, timeout=600)
    return out


@pytest.mark.slow
def test_int8_io_is_dequantized_to_match_the_float_model(tiny_models: Path) -> None:
    f = open_backend(tiny_models / "float.tflite", BackendOptions(threads=1))
    q = open_backend(tiny_models / "int8.tflite")
    assert f.name == q.name == "litert[cpu]"
    assert q.inputs[0].dtype == "float32" and q.inputs[0].shape == (1, 16, 16, 3)
    raw = q.quantization[q.inputs[0].name]  # type: ignore[attr-defined]
    assert raw[0] == "int8" and raw[1] > 0
    x = np.random.default_rng(1).random((1, 16, 16, 3), dtype=np.float32)
    want, got = f.infer([x])[0], q.infer([x])[0]
    assert got.dtype == np.float32 and got.shape == want.shape == (1, 16, 16, 2)
    out_scale = q.quantization[q.outputs[0].name][1]  # type: ignore[attr-defined]
    assert np.abs(got - want).max() < 6 * out_scale + 0.02  # a few quantization steps, not raw int8 codes
    assert np.abs(want).max() > 10 * out_scale  # the model's output is not trivially zero
    f.close()
    q.close()


def test_not_a_tflite_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"not a flatbuffer")
    with pytest.raises(EdgekitError, match=r"cannot load .* with LiteRT"):
        open_backend(bad)


def test_edgetpu_without_libedgetpu_says_how_to_install(tmp_path: Path) -> None:
    m = tmp_path / "m_edgetpu.tflite"
    m.write_bytes(b"x")
    try:
        be = open_backend(m)
    except MissingDependencyError as e:
        assert "libedgetpu1-std" in str(e) and "\n" not in str(e)
    except EdgekitError:
        pass  # libedgetpu present: the stub file is then rejected as a model, which is also one clear line
    else:
        be.close()
        pytest.fail("a stub file loaded as an Edge TPU model")


def test_mediapipe_bundled_float_model_runs() -> None:
    mp = pytest.importorskip("mediapipe", reason="needs the [pose] extra")
    path = Path(mp.__file__).parent / "modules" / "selfie_segmentation" / "selfie_segmentation.tflite"
    if not path.is_file():
        pytest.skip("this mediapipe build has no bundled selfie_segmentation.tflite")
    be = open_backend(path, BackendOptions(threads=1))
    spec = be.inputs[0]
    assert spec.dtype == "float32" and spec.shape[-1] == 3
    y = be.infer([np.zeros(spec.shape, np.float32)])[0]  # type: ignore[arg-type]
    assert y.dtype == np.float32 and np.isfinite(y).all() and y.min() >= 0 and y.max() <= 1
    be.close()
