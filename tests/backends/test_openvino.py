"""The OpenVINO backend on the shipped detector (resized to 320): same outputs as ONNX Runtime, the IR's own
inference precision, clear errors, and one line when the runtime is not installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgekit.backends import BackendOptions, open_backend, runtime_for_file
from edgekit.errors import EdgekitError
from edgekit.export.resize_head import resize_head
from edgekit.vision.preprocess import letterbox
from tests.helpers import DEFAULT_MODEL, REPO, SHARED

ov = pytest.importorskip("openvino", reason="needs the [openvino] extra")

from edgekit.backends.openvino import RT_INFO_PATH, OpenVINOBackend, bf16_capable  # noqa: E402

IMAGES = ("bus.jpg", "zidane.jpg")


@pytest.fixture(scope="module")
def model320(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return resize_head(DEFAULT_MODEL, tmp_path_factory.mktemp("ov") / "yolov8s-fall-320.onnx", 320)


@pytest.fixture(scope="module")
def ir320(model320: Path) -> Path:
    """The 320 model as an FP32 IR without a stored precision (as a user's own conversion would be)."""
    return _ir(model320, model320.with_suffix(".xml"), None)


def _ir(onnx: Path, out: Path, precision: str | None) -> Path:
    m = ov.convert_model(str(onnx))
    if precision is not None:
        m.set_rt_info(precision, RT_INFO_PATH)
    ov.save_model(m, str(out), compress_to_fp16=False)
    return out


def _frames() -> list[np.ndarray]:
    return [letterbox(cv2.imread(str(SHARED / "data" / "images" / n)), (320, 320))[0] for n in IMAGES]


def test_outputs_equal_onnxruntime_from_onnx_and_from_ir(model320: Path, ir320: Path) -> None:
    ort = open_backend(model320, BackendOptions(threads=2))
    for ovb in (open_backend(model320, BackendOptions(threads=2), backend="openvino"), open_backend(ir320)):
        assert isinstance(ovb, OpenVINOBackend) and ovb.name == "openvino[CPU,f32]"
        assert [(s.name, s.shape, s.dtype) for s in ovb.inputs] == [(s.name, s.shape, s.dtype) for s in ort.inputs]
        assert [(s.shape, s.dtype) for s in ovb.outputs] == [((1, 6, 2100), "float32")]
        for x in _frames():
            want, got = ort.infer([x])[0], ovb.infer([x])[0]
            assert got.shape == want.shape and got.dtype == np.float32
            # pixel boxes (0..320) and 0..1 scores: f32 kernels differ only in summation order
            np.testing.assert_allclose(got[:, :4], want[:, :4], atol=0.05)
            np.testing.assert_allclose(got[:, 4:], want[:, 4:], atol=1e-3)
            assert want[:, 4:].max() > 0.5  # the frames have people in them: the comparison is not of zeros
        ovb.close()
    ort.close()


def test_threads_and_properties_come_from_the_options(model320: Path) -> None:
    be = open_backend(model320, BackendOptions(threads=1, extra={"PERFORMANCE_HINT": "THROUGHPUT"}), "openvino")
    assert isinstance(be, OpenVINOBackend) and (be.threads, be.hint) == (1, "THROUGHPUT")
    default = open_backend(model320, BackendOptions(threads=2), "openvino")
    assert isinstance(default, OpenVINOBackend) and (default.threads, default.hint) == (2, "LATENCY")


def test_the_ir_carries_its_inference_precision(model320: Path, tmp_path: Path) -> None:
    ir = _ir(model320, tmp_path / "m_bf16.xml", "bf16")
    assert runtime_for_file(ir).name == "openvino"
    be = open_backend(ir)
    assert isinstance(be, OpenVINOBackend) and be.requested_precision == "bf16"
    # What runs is what the CPU can: BF16 with AMX/AVX512-BF16, else OpenVINO's f32 fallback (reported as such).
    assert be.precision == ("bf16" if bf16_capable(be.core) else "f32") and be.name.endswith(f",{be.precision}]")
    forced = open_backend(ir, BackendOptions(extra={"INFERENCE_PRECISION_HINT": "f32"}))
    assert isinstance(forced, OpenVINOBackend) and forced.precision == forced.requested_precision == "f32"


@pytest.mark.parametrize(
    ("xml", "error"),
    [
        ("<net><layers>", r"m\.xml is not an OpenVINO IR: no element found"),
        ("<html></html>", r"its root element is <html>, not <net>"),
        (None, r"m\.xml has no weights beside it: copy m\.bin with it"),
    ],
)
def test_a_broken_ir_is_one_clear_error(ir320: Path, tmp_path: Path, xml: str | None, error: str) -> None:
    bad = tmp_path / "m.xml"
    if xml is None:
        bad.write_bytes(ir320.read_bytes())  # a real IR, copied without its .bin
    else:
        bad.write_text(xml)
        (tmp_path / "m.bin").write_bytes(b"")
    with pytest.raises(EdgekitError, match=error) as e:
        open_backend(bad)
    assert "\n" not in str(e.value)


# Python's own way to make a module unimportable: a None entry in sys.modules (the runtime is installed here).
HIDE = "import sys, runpy; sys.modules['openvino'] = None; sys.argv = ['edgekit', *sys.argv[1:]]; " \
       "runpy.run_module('edgekit.cli.main', run_name='__main__')"


@pytest.mark.parametrize(
    "args", [["detect", "IMAGE", "--model", "IR"], ["export", "ONNX", "--to", "openvino", "--val", "DATA"]]
)
def test_without_openvino_the_cli_says_how_to_install_it(args: list[str], model320: Path, ir320: Path) -> None:
    image = SHARED / "data" / "images" / "bus.jpg"
    subst = {"IR": str(ir320), "ONNX": str(model320), "DATA": str(SHARED / "data"), "IMAGE": str(image)}
    argv = [subst.get(a, a) for a in args]
    r = subprocess.run([sys.executable, "-c", HIDE, *argv], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "pip install 'edgekit[openvino]'" in lines[0], lines
    assert "Traceback" not in r.stderr


def test_two_streams_run_two_frames_at_once_with_the_same_outputs(model320: Path) -> None:
    from edgekit.backends.base import streams_of, submit

    one = open_backend(model320, BackendOptions(threads=2), "openvino")
    two = open_backend(model320, BackendOptions(threads=2, streams=2), "openvino")
    assert isinstance(two, OpenVINOBackend) and (two.streams, two.hint, two.threads) == (2, "THROUGHPUT", 2)
    assert (streams_of(one), streams_of(two)) == (1, 2)
    frames = _frames()
    want = [one.infer([x])[0] for x in frames]
    # both frames in flight before either is waited for; each result is its own frame's, whatever finished first
    pending = [submit(two, [x]) for x in frames]
    got = [p()[0] for p in reversed(pending)][::-1]
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g[:, :4], w[:, :4], atol=0.05)
        np.testing.assert_allclose(g[:, 4:], w[:, 4:], atol=1e-3)
    assert not np.allclose(got[0], got[1])  # two different photos: the outputs were not mixed up
    assert pending[0]() is pending[0]()  # waiting again gives the same outputs, the stream is not freed twice
    # a third frame waits for a free stream, then runs: no deadlock while the first two were collected
    assert submit(two, [frames[0]])()[0].shape == want[0].shape
    one.close()
    two.close()
