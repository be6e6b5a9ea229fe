"""The CUDA runtime through ctypes, with a real libcudart: the dev extra installs PyPI's ``nvidia-cuda-runtime-cu12``
(3.5 MB), which loads on a machine without a GPU and answers every call with a real CUDA error. Where a GPU and its
driver are present, the same tests copy real memory through the device instead."""

from __future__ import annotations

import sys
from importlib.metadata import distribution
from pathlib import Path

import numpy as np
import pytest

from edgekit.backends import open_backend
from edgekit.backends.cudart import CudaError, CudaRuntime, cudart_candidates, load_cudart, open_cudart
from edgekit.errors import MissingDependencyError

WHEEL_LIB = Path(str(distribution("nvidia-cuda-runtime-cu12").locate_file("nvidia/cuda_runtime/lib/libcudart.so.12")))


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def _gpu(rt: CudaRuntime) -> bool:
    """Whether this machine has a usable CUDA device (else the runtime's calls fail with a CUDA error)."""
    try:
        return rt.device_count() > 0
    except CudaError:
        return False


def test_candidates_wheel_first_then_sonames_then_cuda_folders(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    cu12 = _touch(site / "nvidia/cuda_runtime/lib/libcudart.so.12")
    cu13 = _touch(site / "nvidia/cu13/lib/libcudart.so.13")
    _touch(site / "nvidia/cuda_runtime/lib/libcudart_static.a")
    jetpack = _touch(tmp_path / "cuda-11.4/targets/aarch64-linux/lib/libcudart.so.11.0")
    desktop = _touch(tmp_path / "cuda-12.6/lib64/libcudart.so.12")
    found = cudart_candidates([str(tmp_path / "nowhere"), str(site)], [tmp_path / "cuda-12.6", tmp_path / "cuda-11.4"])
    assert found == [str(cu13), str(cu12), "libcudart.so.12", "libcudart.so.11.0", "libcudart.so.13",
                     "libcudart.so", str(desktop), str(jetpack)]


def test_the_first_candidate_that_loads_is_taken(tmp_path: Path) -> None:
    not_elf = tmp_path / "libcudart.so.12"
    not_elf.write_text("not a shared library")
    rt = open_cudart([str(tmp_path / "missing/libcudart.so.12"), str(not_elf), str(WHEEL_LIB)])
    assert rt.path == str(WHEEL_LIB)
    runtime, _driver = rt.versions()
    assert runtime // 1000 == 12


def test_no_cuda_runtime_is_one_line_saying_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError) as e:
        open_cudart([str(tmp_path / "libcudart.so.12"), "libcudart.so.0-not-a-soname"])
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("the CUDA runtime library (libcudart) is not available")
    assert "apt-get install nvidia-cuda" in msg and "pip install nvidia-cuda-runtime-cu12" in msg


def test_the_search_finds_the_venvs_wheel() -> None:
    assert str(WHEEL_LIB) in cudart_candidates(sys.path, [])
    assert load_cudart().path == str(WHEEL_LIB)  # a venv's own wheel comes before the system's CUDA


def test_calls_fail_with_the_named_cuda_error_or_move_real_memory() -> None:
    rt = open_cudart([str(WHEEL_LIB)])
    if not _gpu(rt):
        for call in (lambda: rt.set_device(0), lambda: rt.malloc(64), rt.stream_create):
            with pytest.raises(CudaError) as e:
                call()
            msg = str(e.value)
            assert "\n" not in msg and msg.startswith("CUDA cuda") and " failed: cudaError" in msg
        _, driver = rt.versions()
        if driver == 0:  # no NVIDIA driver at all: the runtime's "insufficient driver" is explained
            assert "cudaErrorInsufficientDriver (35)" in msg and "no NVIDIA driver is loaded here" in msg
        return
    rt.set_device(0)
    assert rt.device_name(0)
    stream = rt.stream_create()
    src = np.arange(1000, dtype=np.float32)
    back = np.zeros_like(src)
    ptr = rt.malloc(src.nbytes)
    try:
        rt.to_device(ptr, src, stream)
        rt.to_host(back, ptr, stream)
        rt.stream_synchronize(stream)
    finally:
        rt.free(ptr)
        rt.stream_destroy(stream)
    np.testing.assert_array_equal(back, src)


def test_copies_refuse_arrays_that_are_not_contiguous() -> None:
    rt = open_cudart([str(WHEEL_LIB)])
    strided = np.zeros((4, 4), np.float32)[:, ::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        rt.to_device(0, strided, 0)
    with pytest.raises(ValueError, match="C-contiguous"):
        rt.to_host(strided, 0, 0)


def test_opening_an_engine_without_a_gpu_names_the_cuda_error(tmp_path: Path) -> None:
    """The TensorRT backend asks for the GPU first: here (no GPU) that is the one line it fails with; where a GPU
    is present it gets as far as TensorRT, which this machine cannot have."""
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"not opened before the GPU is")
    expected: type[Exception] = MissingDependencyError if _gpu(load_cudart()) else CudaError
    with pytest.raises(expected) as e:
        open_backend(engine)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("CUDA cudaSetDevice(0) failed: cudaError") if expected is CudaError else "TensorRT" in msg
