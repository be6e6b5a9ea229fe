"""Native TensorRT engine backend (plain engine file + ``<engine>.json`` sidecar from edgekit export).

TensorRT 8.5 to 10.x through the name-based I/O API both have (``set_tensor_address`` / ``execute_async_v3``, see
``tensorrt_version``); device memory, copies and the stream through libcudart with ctypes (``cudart``), which JetPack
ships, so a board needs no CUDA Python bindings. Imported lazily: without a GPU, the CUDA runtime or TensorRT, opening
an engine raises one clear line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from edgekit.backends.base import BackendOptions, TensorSpec
from edgekit.backends.cudart import CudaError, load_cudart
from edgekit.backends.tensorrt_engine import import_tensorrt, read_sidecar
from edgekit.errors import EdgekitError

if TYPE_CHECKING:
    import tensorrt

log = logging.getLogger(__name__)


class TensorRTBackend:
    """A serialized TensorRT engine behind the backend protocol (host numpy in, host numpy out).

    One execution context, stream and set of device buffers: ``infer`` holds a lock so cameras sharing the engine
    take turns instead of overwriting each other's tensors.
    """

    def __init__(self, path: Path, options: BackendOptions) -> None:
        # The GPU first: a machine without a usable one says so (the CUDA error, one line) whatever else it lacks.
        self._cuda = load_cudart()
        self._cuda.set_device(options.device_id)
        import_tensorrt()  # one line when TensorRT is missing or older than 8.5
        import tensorrt as trt  # checked just above: real (libnvinfer) and >= 8.5

        self._trt = trt
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
        self._ctx: tensorrt.IExecutionContext | None = self._engine.create_execution_context()
        self._stream: int | None = self._cuda.stream_create()
        self.path = path
        self.name = "tensorrt"
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        is_in = {n: self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self._in_names = [n for n in names if is_in[n]]
        self._out_names = [n for n in names if not is_in[n]]
        self._buffers: dict[str, tuple[int, int]] = {}  # name -> (device pointer, bytes)
        self._lock = threading.Lock()

    def _dtype(self, name: str) -> np.dtype[np.generic]:
        return np.dtype(self._trt.nptype(self._engine.get_tensor_dtype(name)))

    def _spec(self, name: str) -> TensorSpec:
        shape = tuple(int(d) if d >= 0 else None for d in self._engine.get_tensor_shape(name))
        return TensorSpec(name, shape, self._dtype(name).name)

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
                self._cuda.free(ptr)
            ptr = self._cuda.malloc(nbytes)
            self._buffers[name] = (ptr, nbytes)
        return ptr

    def infer(self, inputs: list[npt.NDArray[np.generic]]) -> list[npt.NDArray[np.generic]]:
        if len(inputs) != len(self._in_names):
            raise ValueError(f"engine takes {len(self._in_names)} inputs, got {len(inputs)}")
        with self._lock:
            return self._infer(inputs)

    def _infer(self, inputs: list[npt.NDArray[np.generic]]) -> list[npt.NDArray[np.generic]]:
        ctx, stream = self._ctx, self._stream
        if ctx is None or stream is None:
            raise EdgekitError(f"the TensorRT backend of {self.path} is closed")
        staged: list[npt.NDArray[np.generic]] = []  # host arrays stay alive until the stream has copied them
        for name, x in zip(self._in_names, inputs, strict=True):
            arr = np.ascontiguousarray(x, dtype=self._dtype(name))
            if not ctx.set_input_shape(name, arr.shape):
                raise ValueError(f"input {name} of {self.path} cannot take shape {arr.shape}")
            ptr = self._device(name, arr.nbytes)
            self._cuda.to_device(ptr, arr, stream)
            ctx.set_tensor_address(name, ptr)
            staged.append(arr)
        outs: list[npt.NDArray[np.generic]] = []
        for name in self._out_names:
            host = np.empty(tuple(ctx.get_tensor_shape(name)), self._dtype(name))
            ctx.set_tensor_address(name, self._device(name, host.nbytes))
            outs.append(host)
        if not ctx.execute_async_v3(stream):
            raise EdgekitError(f"TensorRT execution failed for {self.path}")
        for name, host in zip(self._out_names, outs, strict=True):
            self._cuda.to_host(host, self._buffers[name][0], stream)
        self._cuda.stream_synchronize(stream)
        return outs

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        self._ctx = None  # TensorRT's objects go before the memory and stream they were given
        self.__dict__.pop("_engine", None)
        # Best effort: after a CUDA error the device context is gone and every call fails the same way.
        for ptr, _ in self._buffers.values():
            self._quietly(self._cuda.free, ptr)
        self._buffers.clear()
        if self._stream is not None:
            self._quietly(self._cuda.stream_destroy, self._stream)
            self._stream = None

    @staticmethod
    def _quietly(call: Callable[[int], None], arg: int) -> None:
        try:
            call(arg)
        except CudaError as e:
            log.debug("while closing: %s", e)
