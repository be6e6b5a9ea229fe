"""LiteRT/TFLite backend: ``ai_edge_litert``, else ``tflite_runtime``, with the Edge TPU delegate when asked.

Quantized models: a full-INT8 model takes and returns int8/uint8 tensors. This backend converts at the boundary
with each tensor's own scale and zero point, so callers always feed and receive float32 — the same contract as the
other backends (no pre- or post-processing happens here: no resizing, layout change or decoding). ``inputs`` and
``outputs`` therefore report ``float32``; ``quantization`` gives the raw (dtype, scale, zero point) per tensor.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.backends.base import BackendOptions, TensorSpec, check_input_count
from edgekit.errors import EdgekitError, MissingDependencyError

log = logging.getLogger(__name__)

EDGETPU_LIB = {"nt": "edgetpu.dll", "posix": "libedgetpu.so.1"}
EDGETPU_HINT = (
    "install the Edge TPU runtime on the board: add Coral's apt repository (coral.ai/software) and "
    "`sudo apt-get install libedgetpu1-std`"
)


def _interpreter_class() -> tuple[Any, Any]:
    """(Interpreter, load_delegate) from ai_edge_litert, else tflite_runtime."""
    try:
        from ai_edge_litert.interpreter import Interpreter, load_delegate

        return Interpreter, load_delegate
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter, load_delegate

        return Interpreter, load_delegate
    except ImportError as e:
        raise MissingDependencyError(
            "the LiteRT runtime (ai-edge-litert or tflite-runtime)", "pip install 'edgekit[tflite]'"
        ) from e


def edgetpu_delegate(load_delegate: Any) -> Any:
    """The Edge TPU delegate, or a one-line error saying how to install libedgetpu."""
    lib = os.environ.get("EDGEKIT_EDGETPU_LIB") or EDGETPU_LIB.get(os.name, "libedgetpu.so.1")
    try:
        return load_delegate(lib)
    except (ValueError, OSError, RuntimeError) as e:
        raise MissingDependencyError(f"the Edge TPU runtime ({lib})", EDGETPU_HINT) from e


class LiteRTBackend:
    """A TFLite model behind the backend protocol; int8/uint8 IO is (de)quantized here so callers use float32.

    One interpreter holds one set of input/output tensors, so ``infer`` is serialised by a lock: cameras that share
    this backend take turns (set inputs → invoke → copy outputs) instead of overwriting each other's inputs.

    Examples:
        >>> be = LiteRTBackend(Path("model_int8.tflite"), BackendOptions(threads=2))  # doctest: +SKIP
        >>> be.inputs[0].shape  # doctest: +SKIP
        (1, 320, 320, 3)
    """

    def __init__(self, path: Path, options: BackendOptions) -> None:
        interpreter_cls, load_delegate = _interpreter_class()
        use_tpu = options.use_edgetpu or path.name.endswith("_edgetpu.tflite")
        delegates = [edgetpu_delegate(load_delegate)] if use_tpu else None
        try:
            self._it = interpreter_cls(
                model_path=str(path),
                num_threads=options.threads if options.threads > 0 else None,
                experimental_delegates=delegates,
            )
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise EdgekitError(f"cannot load {path} with LiteRT: {first[:300]}") from e
        self.path = path
        self._lock = threading.Lock()
        self.name = "litert[edgetpu]" if use_tpu else "litert[cpu]"
        self._in = self._it.get_input_details()
        self._out = self._it.get_output_details()
        self.quantization: dict[str, tuple[str, float, int]] = {
            d["name"]: (np.dtype(d["dtype"]).name, *self._qparams(d)) for d in [*self._in, *self._out]
        }

    @staticmethod
    def _qparams(d: dict[str, Any]) -> tuple[float, int]:
        scale, zero = d.get("quantization", (0.0, 0))
        return float(scale), int(zero)

    @staticmethod
    def _is_quantized(d: dict[str, Any]) -> bool:
        return np.dtype(d["dtype"]) in (np.int8, np.uint8, np.int16) and LiteRTBackend._qparams(d)[0] > 0

    def _spec(self, d: dict[str, Any]) -> TensorSpec:
        dtype = "float32" if self._is_quantized(d) else np.dtype(d["dtype"]).name
        sig = d.get("shape_signature")
        dims = sig if sig is not None and len(sig) else d["shape"]
        return TensorSpec(d["name"], tuple(int(x) if x >= 0 else None for x in dims), dtype)

    @property
    def inputs(self) -> list[TensorSpec]:
        return [self._spec(d) for d in self._in]

    @property
    def outputs(self) -> list[TensorSpec]:
        return [self._spec(d) for d in self._out]

    def infer(self, inputs: list[npt.NDArray[np.generic]]) -> list[npt.NDArray[np.generic]]:
        check_input_count(inputs, len(self._in))
        feeds = []
        for d, x in zip(self._in, inputs, strict=True):
            dtype = np.dtype(d["dtype"])
            if self._is_quantized(d):
                scale, zero = self._qparams(d)
                info = np.iinfo(dtype)
                q = np.round(np.asarray(x, np.float32) / scale + zero)
                x = np.clip(q, info.min, info.max).astype(dtype)
            feeds.append((d["index"], np.ascontiguousarray(x, dtype=dtype)))
        with self._lock:
            for index, x in feeds:
                self._it.set_tensor(index, x)
            self._it.invoke()
            raw = [np.array(self._it.get_tensor(d["index"])) for d in self._out]  # copy: buffers are reused
        outs: list[npt.NDArray[np.generic]] = []
        for d, y in zip(self._out, raw, strict=True):
            if self._is_quantized(d):
                scale, zero = self._qparams(d)
                y = (y.astype(np.float32) - zero) * scale
            outs.append(y)
        return outs

    def close(self) -> None:
        with self._lock:
            self.__dict__.pop("_it", None)
