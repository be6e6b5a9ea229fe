"""The one protocol every inference backend implements. Backends never pre- or post-process."""

from __future__ import annotations

from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """Name, shape (``None`` or a string for a dynamic axis) and numpy dtype name of one model input/output."""

    name: str
    shape: tuple[int | str | None, ...]
    dtype: str

    @property
    def static_shape(self) -> tuple[int, ...] | None:
        """The shape when every axis is a fixed size, else ``None``."""
        if all(isinstance(d, int) and d > 0 for d in self.shape):
            return tuple(int(d) for d in self.shape)  # type: ignore[arg-type]
        return None


Spinning = Literal["auto", "on", "off"]
"""Whether a CPU runtime's idle worker threads spin-wait for work: ``auto`` spins only when the detector leaves a
core free (threads fewer than cores); a pool that fills the cores yields instead, since a spinning thread burns the
time slice the pre-empted thread it waits for needs (``benchmarks/README.md``, contention)."""


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """How to open a model: threads, accelerator choice, and ONNX Runtime providers when wanted."""

    threads: int = 0
    providers: tuple[str, ...] | None = None
    use_edgetpu: bool = False
    device_id: int = 0
    extra: dict[str, str] = field(default_factory=dict)
    lean_memory: bool = False
    """ONNX Runtime on the CPU: no memory pattern (the profile's ``runtime.lean_memory``)."""
    spinning: Spinning = "auto"
    """ONNX Runtime on the CPU: intra/inter-op spin-waiting (``session.*.allow_spinning``); entries in ``extra``
    win over it."""
    affinity: tuple[int, ...] | None = None
    """CPUs the runtime's worker threads may run on (``open_backend`` loads the model there, so the threads a
    runtime starts at load inherit them); None: all."""
    streams: int = 1
    """Inferences in flight at once, ``threads`` shared among them (OpenVINO's CPU streams; ``submit``). The other
    runtimes run one at a time and ignore it."""


@runtime_checkable
class Backend(Protocol):
    """A loaded model that maps input arrays to output arrays."""

    name: str
    """Short backend name with its accelerator, e.g. ``onnxruntime[CPUExecutionProvider]``."""

    @property
    def inputs(self) -> list[TensorSpec]: ...

    @property
    def outputs(self) -> list[TensorSpec]: ...

    def infer(self, inputs: list[npt.NDArray[np.generic]]) -> list[npt.NDArray[np.generic]]:
        """Run the model once on inputs in the order of ``inputs``; returns outputs in the order of ``outputs``."""
        ...

    def close(self) -> None:
        """Free native resources; the backend is unusable afterwards."""
        ...


Pending = Callable[[], list[npt.NDArray[np.generic]]]
"""A started inference: calling it waits for the outputs (once)."""


def submit(backend: Backend, inputs: list[npt.NDArray[np.generic]]) -> Pending:
    """Start one inference on ``backend``; the returned call waits for its outputs. A backend with several streams
    (``streams_of``) runs it beside those already in flight; any other runs it now."""
    start = getattr(backend, "submit", None)
    if start is not None:
        pending: Pending = start(inputs)
        return pending
    outputs = backend.infer(inputs)
    return lambda: outputs


def streams_of(backend: Backend) -> int:
    """How many inferences ``backend`` runs at once (1 unless it was opened with several streams)."""
    return max(1, int(getattr(backend, "streams", 1)))


def check_input_count(inputs: Sized, expected: int) -> None:
    """A model run with another number of inputs than the model takes is a caller's bug: say so before the runtime."""
    if len(inputs) != expected:
        raise ValueError(f"model takes {expected} inputs, got {len(inputs)}")


class FixedSpecs:
    """``inputs``/``outputs`` for a backend that reads them once, when the model loads."""

    _inputs: list[TensorSpec]
    _outputs: list[TensorSpec]

    @property
    def inputs(self) -> list[TensorSpec]:
        return self._inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._outputs
