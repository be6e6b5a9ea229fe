"""The ncnn backend on the shipped detector (resized to 320, converted by pnnx): ONNX Runtime's outputs, the
precision its name carries, clear errors for a broken graph, and one line when ncnn or pnnx is not installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgekit.backends import BackendOptions, open_backend, runtime_for_file
from edgekit.backends.runtimes import model_files
from edgekit.errors import EdgekitError
from edgekit.export.resize_head import resize_head
from edgekit.vision.preprocess import letterbox
from tests.helpers import DEFAULT_MODEL, REPO, SHARED

pytest.importorskip("ncnn", reason="needs the [ncnn] extra")

from edgekit.backends.ncnn import NcnnBackend
from edgekit.export.onnx2ncnn import onnx2ncnn, pnnx_binary

IMAGES = ("bus.jpg", "zidane.jpg")

try:
    pnnx_binary()
    HAVE_PNNX = True
except EdgekitError:
    HAVE_PNNX = False
needs_pnnx = pytest.mark.skipif(not HAVE_PNNX, reason="needs pnnx: pip install --no-deps pnnx")


@pytest.fixture(scope="module")
def model320(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return resize_head(DEFAULT_MODEL, tmp_path_factory.mktemp("ncnn") / "yolov8s-fall-320.onnx", 320)


@pytest.fixture(scope="module")
def graphs(model320: Path) -> dict[str, Path]:
    """The 320 model in ncnn with FP32 and with FP16 weights, named as ``edgekit export`` names them."""
    if not HAVE_PNNX:
        pytest.skip("needs pnnx: pip install --no-deps pnnx")
    d = model320.parent
    return {p: onnx2ncnn(model320, d / f"m-320_{p}.ncnn.param", 320, fp16=p == "fp16") for p in ("fp32", "fp16")}


def _frames() -> list[np.ndarray]:
    return [letterbox(cv2.imread(str(SHARED / "data" / "images" / n)), (320, 320))[0] for n in IMAGES]


def test_outputs_equal_onnxruntime(model320: Path, graphs: dict[str, Path]) -> None:
    ort = open_backend(model320, BackendOptions(threads=2))
    be = open_backend(graphs["fp32"], BackendOptions(threads=2))
    assert runtime_for_file(graphs["fp32"]).name == "ncnn"
    assert isinstance(be, NcnnBackend) and be.name == "ncnn[CPU,fp32]" and be.threads == 2
    assert [(s.shape, s.dtype) for s in be.inputs] == [((1, 3, 320, 320), "float32")]
    assert [(s.shape, s.dtype) for s in be.outputs] == [((1, 6, 2100), "float32")]
    for x in _frames():
        want, got = ort.infer([x])[0], be.infer([x])[0]
        assert got.shape == want.shape and got.dtype == np.float32
        # pixel boxes (0..320) and 0..1 scores: FP32 kernels that differ in summation order (and Winograd)
        np.testing.assert_allclose(got[:, :4], want[:, :4], atol=0.1)
        np.testing.assert_allclose(got[:, 4:], want[:, 4:], atol=2e-3)
        assert want[:, 4:].max() > 0.5  # the frames have people in them: the comparison is not of zeros
    be.close()
    ort.close()


def test_fp16_runs_as_its_name_says_unless_told(graphs: dict[str, Path]) -> None:
    fp16, fp32 = graphs["fp16"], graphs["fp32"]
    assert [p.name for p in model_files(fp16)] == [fp16.name, "m-320_fp16.ncnn.bin"]
    assert fp16.with_suffix(".bin").stat().st_size < 0.6 * fp32.with_suffix(".bin").stat().st_size
    be = open_backend(fp16)
    assert isinstance(be, NcnnBackend) and be.precision == "fp16" and be.net.opt.use_fp16_storage
    forced = open_backend(fp16, BackendOptions(extra={"precision": "fp32"}))
    assert isinstance(forced, NcnnBackend) and forced.precision == "fp32" and not forced.net.opt.use_fp16_storage
    x = _frames()[0]
    np.testing.assert_allclose(be.infer([x])[0][:, 4:], forced.infer([x])[0][:, 4:], atol=0.02)
    with pytest.raises(EdgekitError, match="ncnn runs fp32, fp16, not 'int8'"):
        open_backend(fp32, BackendOptions(extra={"precision": "int8"}))


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (lambda t: t.replace("7767517", "123", 1), r"is not an ncnn \.param file"),
        (lambda t: t.replace(" 0=320 1=320 2=3", ""), r"input 'in0' has no shape \(0=w 1=h 2=c\) in its Input layer"),
        (None, r"m\.ncnn\.param has no weights beside it: copy m\.ncnn\.bin with it"),
    ],
)
def test_a_broken_graph_is_one_clear_error(graphs: dict[str, Path], tmp_path: Path, edit: object, error: str) -> None:
    bad = tmp_path / "m.ncnn.param"
    text = graphs["fp32"].read_text()
    bad.write_text(edit(text) if callable(edit) else text)
    if edit is not None:
        (tmp_path / "m.ncnn.bin").write_bytes(graphs["fp32"].with_suffix(".bin").read_bytes())
    with pytest.raises(EdgekitError, match=error) as e:
        open_backend(bad)
    assert "\n" not in str(e.value)


# Python's own way to make a module unimportable: a None entry in sys.modules (the runtime is installed here).
HIDE = "import sys, runpy; sys.modules['ncnn'] = None; sys.argv = ['edgekit', *sys.argv[1:]]; " \
       "runpy.run_module('edgekit.cli.main', run_name='__main__')"


@needs_pnnx
@pytest.mark.parametrize(
    ("args", "hint", "env"),
    [
        (["detect", "IMAGE", "--model", "GRAPH"], "pip install 'edgekit[ncnn]'", {}),
        (["export", "ONNX", "--to", "ncnn", "--val", "DATA"], "pip install 'edgekit[ncnn]'", {}),
        (["export", "ONNX", "--to", "ncnn", "--val", "DATA"], "pip install --no-deps 'pnnx",
         {"EDGEKIT_PNNX": "/nonexistent/pnnx"}),
    ],
)
def test_without_ncnn_or_pnnx_the_cli_says_how_to_install_it(
    args: list[str], hint: str, env: dict[str, str], model320: Path, graphs: dict[str, Path]
) -> None:
    image = SHARED / "data" / "images" / "bus.jpg"
    subst = {"GRAPH": str(graphs["fp32"]), "ONNX": str(model320), "DATA": str(SHARED / "data"), "IMAGE": str(image)}
    argv = [subst.get(a, a) for a in args]
    code = HIDE if not env else HIDE.replace("sys.modules['ncnn'] = None; ", "")
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO, timeout=120,
                       env={**os.environ, **env})
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and hint in lines[0], lines
    assert "Traceback" not in r.stderr
