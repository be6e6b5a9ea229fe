"""Native TensorRT 10 engine backend (plain engine file + ``<engine>.json`` sidecar from edgekit export).

Uses the name-based I/O API of TensorRT 10 (``set_tensor_address`` / ``execute_async_v3``) and cuda-python's
runtime for device memory. Imported lazily: without TensorRT or a GPU, opening an engine raises one clear line.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.backends.base import BackendOptions, TensorSpec
from edgekit.backends.tensorrt_engine import import_tensorrt, read_sidecar
from edgekit.errors import EdgekitError, MissingDependencyError

log = logging.getLogger(__name__)


def _cudart() -> Any:
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart  # cuda-python < 12.6
        except ImportError as e:
            raise MissingDependencyError("cuda-python (CUDA runtime bindings)", "pip install cuda-python") from e
    return cudart


def _check(result: Any) -> Any:
    """cuda-python returns (err, value...); raise on a non-zero error."""
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise EdgekitError(f"CUDA call failed with error {err}")
    return rest[0] if len(rest) == 1 else rest


class TensorRTBackend:
    """A serialized TensorRT engine behind the backend protocol (host numpy in, host numpy out).

    One execution context, stream and set of device buffers: ``infer`` holds a lock so cameras sharing the engine
    take turns instead of overwriting each other's tensors.
    """

    def __init__(self, path: Path, options: BackendOptions) -> None:
        trt = import_tensorrt()
        self._cuda = _cudart()
        self._trt = trt
        _check(self._cuda.cudaSetDevice(options.device_id))
        self.sidecar = read_sidecar(path)
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self._engine = runtime.deserialize_cuda_engine(path.read_bytes())
        if self._engine is None:
            s = self.sidecar
            again = (
                f"`edgekit export {s.source} --to tensorrt --precision {s.precision}`"
                if s is not None
                else "edgekit export (--to tensorrt, from its ONNX)"
            )
            raise EdgekitError(
                f"cannot load {path} as a TensorRT engine (built by another TensorRT version or GPU, or not a plain "
                f"engine file); rebuild it on this device with {again}"
            )
        self._ctx = self._engine.create_execution_context()
        self._stream = _check(self._cuda.cudaStreamCreate())
        self.path = path
        self.name = "tensorrt"
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        is_in = {n: self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self._in_names = [n for n in names if is_in[n]]
        self._out_names = [n for n in names if not is_in[n]]
        self._buffers: dict[str, tuple[int, int]] = {}  # name -> (device pointer, bytes)
        self._lock = threading.Lock()

    def _spec(self, name: str) -> TensorSpec:
        shape = tuple(int(d) if d >= 0 else None for d in self._engine.get_tensor_shape(name))
        dtype = np.dtype(self._trt.nptype(self._engine.get_tensor_dtype(name))).name
        return TensorSpec(name, shape, dtype)

    @property
    def inputs(self) -> list[TensorSpec]:
        return [self._spec(n) for n in self._in_names]

    @property
    def outputs(self) -> list[TensorSpec]:
        return [self._spec(n) for n in self._out_names]

    def _device(self, name: str, nbytes: int) -> int:
        ptr, size = self._buffers.get(name, (0, 0))
        if size < nbytes:
            if ptr:
                _check(self._cuda.cudaFree(ptr))
            ptr = int(_check(self._cuda.cudaMalloc(nbytes)))
            self._buffers[name] = (ptr, nbytes)
        return ptr

    def infer(self, inputs: list[npt.NDArray[np.generic]]) -> list[npt.NDArray[np.generic]]:
        if len(inputs) != len(self._in_names):
            raise ValueError(f"engine takes {len(self._in_names)} inputs, got {len(inputs)}")
        with self._lock:
            return self._infer(inputs)

    def _infer(self, inputs: list[npt.NDArray[np.generic]]) -> list[npt.NDArray[np.generic]]:
        h2d = self._cuda.cudaMemcpyKind.cudaMemcpyHostToDevice
        d2h = self._cuda.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for name, x in zip(self._in_names, inputs, strict=True):
            dtype = np.dtype(self._trt.nptype(self._engine.get_tensor_dtype(name)))
            arr = np.ascontiguousarray(x, dtype=dtype)
            self._ctx.set_input_shape(name, arr.shape)
            ptr = self._device(name, arr.nbytes)
            _check(self._cuda.cudaMemcpyAsync(ptr, arr.ctypes.data, arr.nbytes, h2d, self._stream))
            self._ctx.set_tensor_address(name, ptr)
        outs: list[npt.NDArray[np.generic]] = []
        for name in self._out_names:
            shape = tuple(self._ctx.get_tensor_shape(name))
            dtype = np.dtype(self._trt.nptype(self._engine.get_tensor_dtype(name)))
            host = np.empty(shape, dtype)
            self._ctx.set_tensor_address(name, self._device(name, host.nbytes))
            outs.append(host)
        if not self._ctx.execute_async_v3(self._stream):
            raise EdgekitError(f"TensorRT execution failed for {self.path}")
        for name, host in zip(self._out_names, outs, strict=True):
            ptr = self._buffers[name][0]
            _check(self._cuda.cudaMemcpyAsync(host.ctypes.data, ptr, host.nbytes, d2h, self._stream))
        _check(self._cuda.cudaStreamSynchronize(self._stream))
        return outs

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        for ptr, _ in self._buffers.values():
            self._cuda.cudaFree(ptr)
        self._buffers.clear()
        if getattr(self, "_stream", None) is not None:
            self._cuda.cudaStreamDestroy(self._stream)
            self._stream = None
        self.__dict__.pop("_ctx", None)
        self.__dict__.pop("_engine", None)
