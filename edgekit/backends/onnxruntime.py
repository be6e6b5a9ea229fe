"""ONNX Runtime backend: CPU, CUDA and TensorRT execution providers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.backends.base import BackendOptions, FixedSpecs, TensorSpec, check_input_count
from edgekit.backends.memory import release_freed_heap
from edgekit.backends.threads import spin_entries
from edgekit.errors import EdgekitError

log = logging.getLogger(__name__)

_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
}

# Preferred order when the profile asks for an accelerator and the installed onnxruntime has it.
ACCELERATED = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def available_providers() -> list[str]:
    """Execution providers the installed onnxruntime build offers."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


class OnnxRuntimeBackend(FixedSpecs):
    """An ``onnxruntime.InferenceSession`` behind the backend protocol."""

    def __init__(self, path: Path, options: BackendOptions) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if options.threads > 0:
            so.intra_op_num_threads = options.threads
            so.inter_op_num_threads = 1
        so.log_severity_level = 3
        spin = spin_entries(options.spinning, options.threads, len(options.affinity) if options.affinity else None)
        for key, value in {**spin, **options.extra}.items():  # ORT session config entries; `extra` wins
            so.add_session_config_entry(key, value)
        have = set(ort.get_available_providers())
        providers = [p for p in (options.providers or ("CPUExecutionProvider",)) if p in have]
        if "CPUExecutionProvider" not in providers:
            providers.append("CPUExecutionProvider")
        cpu_only = providers == ["CPUExecutionProvider"]
        if cpu_only and options.lean_memory:
            # Without the memory pattern the CPU arena reuses its per-tensor chunks run after run (49 MB at 640
            # FP32) instead of one planned block beside them (64 + 16 MB): 13 MB less RSS, ~5 % slower here.
            so.enable_mem_pattern = False
        try:
            self._sess = ort.InferenceSession(str(path), sess_options=so, providers=providers)
        except Exception as e:  # ORT raises its own Fail/InvalidProtobuf/NotImplemented types
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EdgekitError(f"cannot load {path} with ONNX Runtime: {first[:300]}") from e
        release_freed_heap()  # the model's parse and graph optimisation leave ~48 MB (640 FP32) freed but resident
        self.path = path
        self.providers = list(self._sess.get_providers())
        # With the memory pattern, the first run (no pattern yet) grows the arena tensor by tensor and the second
        # asks for the pattern's one block beside it; the arena never gives the first run's chunks back (+49 MB at
        # 640 FP32, never used again). Shrinking the arena at the end of the first run only drops them.
        self._first_run: Any = None
        if cpu_only and so.enable_mem_pattern:
            self._first_run = ort.RunOptions()
            self._first_run.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self.name = f"onnxruntime[{self.providers[0]}]"
        self._inputs = [self._spec(i) for i in self._sess.get_inputs()]
        self._outputs = [self._spec(o) for o in self._sess.get_outputs()]
        self._in_names = [i.name for i in self._inputs]
        self.metadata: dict[str, str] = dict(self._sess.get_modelmeta().custom_metadata_map)

    def config_entry(self, key: str) -> str:
        """A session config entry as the session itself reports it ('' when unset)."""
        try:
            return str(self._sess.get_session_options().get_session_config_entry(key))
        except Exception:  # ORT raises a plain RuntimeError-like Fail for an unset key
            return ""

    @staticmethod
    def _spec(arg: object) -> TensorSpec:
        shape = tuple(d if isinstance(d, int) else (d or None) for d in arg.shape)  # type: ignore[attr-defined]
        ort_type = str(arg.type)  # type: ignore[attr-defined]
        return TensorSpec(arg.name, shape, _ORT_TYPES.get(ort_type, ort_type))  # type: ignore[attr-defined]

    def infer(self, inputs: list[npt.NDArray[np.generic]]) -> list[npt.NDArray[np.generic]]:
        check_input_count(inputs, len(self._in_names))
        first, self._first_run = self._first_run, None
        outs = self._sess.run(None, dict(zip(self._in_names, inputs, strict=True)), first)
        return [np.asarray(o) for o in outs]

    def close(self) -> None:
        self.__dict__.pop("_sess", None)
