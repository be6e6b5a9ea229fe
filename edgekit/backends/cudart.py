"""The CUDA runtime (libcudart) through ctypes: the device memory, copies and stream the TensorRT backend needs.

libcudart is a plain C library: JetPack ships it with its CUDA (apt ``nvidia-cuda``), a desktop has it from the CUDA
toolkit or the ``nvidia-cuda-runtime-cu12`` wheel. Calling it through ctypes needs no Python bindings (cuda-python
is in no JetPack and in no bundle lock), so the board, the desktop and the tests share one code path.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.errors import EdgekitError, MissingDependencyError

SONAMES = ("libcudart.so.12", "libcudart.so.11.0", "libcudart.so.13", "libcudart.so")
"""What the dynamic linker is asked for: CUDA 12 (JetPack 6), 11.x (JetPack 5: soname ``.so.11.0``), 13, any."""
CUDART_HINT = (
    "on a Jetson it comes with JetPack's CUDA (`sudo apt-get install nvidia-cuda`); elsewhere install the CUDA "
    "toolkit or `pip install nvidia-cuda-runtime-cu12`"
)
_HOST_TO_DEVICE, _DEVICE_TO_HOST = 1, 2  # cudaMemcpyKind
_INSUFFICIENT_DRIVER = 35  # cudaErrorInsufficientDriver: also what a machine with no NVIDIA driver at all gets
_PROPS_BYTES = 4096  # > sizeof(cudaDeviceProp) in CUDA 11-13; the name is its first field in all of them

_P = ctypes.c_void_p
_INT_P = ctypes.POINTER(ctypes.c_int)
_SIGNATURES: dict[str, list[Any]] = {
    "cudaGetDeviceCount": [_INT_P],
    "cudaSetDevice": [ctypes.c_int],
    "cudaMalloc": [ctypes.POINTER(_P), ctypes.c_size_t],
    "cudaFree": [_P],
    "cudaMemcpyAsync": [_P, _P, ctypes.c_size_t, ctypes.c_int, _P],
    "cudaStreamCreate": [ctypes.POINTER(_P)],
    "cudaStreamSynchronize": [_P],
    "cudaStreamDestroy": [_P],
    "cudaRuntimeGetVersion": [_INT_P],
    "cudaDriverGetVersion": [_INT_P],
}


class CudaError(EdgekitError):
    """A CUDA runtime call failed; the message names the call and the CUDA error."""


def cuda_roots() -> list[Path]:
    """CUDA install folders: ``/usr/local/cuda`` (the current one) first, then the versioned ones, newest first."""
    return [Path("/usr/local/cuda"), *sorted(Path("/usr/local").glob("cuda-*"), reverse=True)]


def cudart_candidates(paths: Iterable[str], roots: Iterable[Path]) -> list[str]:
    """Where libcudart may be, in the order tried: a pip wheel under one of ``paths`` (this venv's own, e.g. brought
    by TensorRT's wheels: ``nvidia/cuda_runtime/lib``, ``nvidia/cu13/lib``), the dynamic linker's ``SONAMES``, then
    the ``lib64`` and ``targets/*/lib`` folders of the CUDA installs ``roots`` (not always in the linker's path)."""
    found: list[str] = []
    for p in paths:
        found += sorted(str(f) for f in Path(p or ".").glob("nvidia/*/lib/libcudart.so*"))
    found += SONAMES
    for root in roots:
        for sub in ("lib64", "targets/*/lib"):
            found += sorted((str(f) for f in root.glob(f"{sub}/libcudart.so*")), reverse=True)
    return list(dict.fromkeys(found))


def _version(v: int) -> str:
    return f"{v // 1000}.{v % 1000 // 10}"


class CudaRuntime:
    """The libcudart calls the TensorRT backend makes, each checked: a failure raises ``CudaError`` in one line.
    Device pointers and streams are plain ints (what TensorRT's ``set_tensor_address``/``execute_async_v3`` take)."""

    def __init__(self, lib: ctypes.CDLL, path: str) -> None:
        self.path = path
        self._lib = lib
        for name, args in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = args, ctypes.c_int
        for name in ("cudaGetErrorName", "cudaGetErrorString"):
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_char_p
        # CUDA 12 renamed it (the old symbol stays, with the CUDA 11 struct); either fills the name first.
        self._props = getattr(lib, "cudaGetDeviceProperties_v2", None) or lib.cudaGetDeviceProperties
        self._props.argtypes, self._props.restype = [ctypes.c_char_p, ctypes.c_int], ctypes.c_int

    def versions(self) -> tuple[int, int]:
        """(runtime, driver) CUDA versions as ``1000 * major + 10 * minor``; driver 0: no NVIDIA driver loaded."""
        rt, drv = ctypes.c_int(0), ctypes.c_int(0)
        self._lib.cudaRuntimeGetVersion(ctypes.byref(rt))
        self._lib.cudaDriverGetVersion(ctypes.byref(drv))
        return rt.value, drv.value

    def error_message(self, call: str, code: int) -> str:
        """One line naming ``call``, the CUDA error and, for a driver error, what the driver is missing."""
        name = (self._lib.cudaGetErrorName(code) or b"?").decode()
        text = (self._lib.cudaGetErrorString(code) or b"").decode()
        msg = f"CUDA {call} failed: {name} ({code}): {text}"
        if code == _INSUFFICIENT_DRIVER:
            rt, drv = self.versions()
            msg += (f"; no NVIDIA driver is loaded here ({self.path} is CUDA {_version(rt)})" if drv == 0 else
                    f"; the NVIDIA driver supports CUDA {_version(drv)}, {self.path} is CUDA {_version(rt)}")
        return msg

    def _check(self, call: str, code: int) -> None:
        if code != 0:
            raise CudaError(self.error_message(call, code))

    def device_count(self) -> int:
        n = ctypes.c_int(0)
        self._check("cudaGetDeviceCount", self._lib.cudaGetDeviceCount(ctypes.byref(n)))
        return n.value

    def set_device(self, device: int) -> None:
        self._check(f"cudaSetDevice({device})", self._lib.cudaSetDevice(device))

    def device_name(self, device: int = 0) -> str:
        buf = ctypes.create_string_buffer(_PROPS_BYTES)
        self._check(f"cudaGetDeviceProperties({device})", self._props(buf, device))
        return buf.raw[:256].split(b"\0", 1)[0].decode(errors="replace").strip()

    def malloc(self, nbytes: int) -> int:
        ptr = _P()
        self._check(f"cudaMalloc({nbytes})", self._lib.cudaMalloc(ctypes.byref(ptr), nbytes))
        return int(ptr.value or 0)

    def free(self, ptr: int) -> None:
        self._check("cudaFree", self._lib.cudaFree(ptr))

    def stream_create(self) -> int:
        stream = _P()
        self._check("cudaStreamCreate", self._lib.cudaStreamCreate(ctypes.byref(stream)))
        return int(stream.value or 0)

    def stream_synchronize(self, stream: int) -> None:
        self._check("cudaStreamSynchronize", self._lib.cudaStreamSynchronize(stream))

    def stream_destroy(self, stream: int) -> None:
        self._check("cudaStreamDestroy", self._lib.cudaStreamDestroy(stream))

    def to_device(self, dst: int, src: npt.NDArray[np.generic], stream: int) -> None:
        """Queue a copy of the C-contiguous ``src`` into device memory ``dst`` on ``stream``."""
        if not src.flags.c_contiguous:
            raise ValueError("to_device needs a C-contiguous array")
        code = self._lib.cudaMemcpyAsync(dst, src.ctypes.data, src.nbytes, _HOST_TO_DEVICE, stream)
        self._check("cudaMemcpyAsync (host to device)", code)

    def to_host(self, dst: npt.NDArray[np.generic], src: int, stream: int) -> None:
        """Queue a copy of device memory ``src`` into the C-contiguous ``dst`` on ``stream``."""
        if not dst.flags.c_contiguous:
            raise ValueError("to_host needs a C-contiguous array")
        code = self._lib.cudaMemcpyAsync(dst.ctypes.data, src, dst.nbytes, _DEVICE_TO_HOST, stream)
        self._check("cudaMemcpyAsync (device to host)", code)


def open_cudart(candidates: Sequence[str]) -> CudaRuntime:
    """The first of ``candidates`` (paths or sonames) that loads, or a one-line error saying how to get one."""
    for c in candidates:
        try:
            return CudaRuntime(ctypes.CDLL(c), c)
        except (OSError, AttributeError):  # not there, not a library for this machine, or without cudart's calls
            continue
    raise MissingDependencyError("the CUDA runtime library (libcudart)", CUDART_HINT)


@functools.cache
def load_cudart() -> CudaRuntime:
    """This machine's CUDA runtime, loaded once (see ``cudart_candidates`` for where it is looked for)."""
    return open_cudart(cudart_candidates(sys.path, cuda_roots()))
