"""OpenVINO backend: an IR (``.xml`` + ``.bin``) or an ONNX file compiled for the CPU.

The inference precision is always set, never left to the plugin: on CPUs with AMX or AVX512-BF16 OpenVINO's CPU
default is BF16, which would run an "FP32" model in BF16 unasked. An IR written by ``edgekit export --to openvino``
carries the precision it was gated at (``runtime_options`` in its ``rt_info``); anything else runs ``f32``.
``BackendOptions.extra`` entries are OpenVINO properties and win over both (e.g. ``PERFORMANCE_HINT``).
"""

from __future__ import annotations

import queue
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.backends.base import BackendOptions, FixedSpecs, Pending, TensorSpec, check_input_count
from edgekit.errors import EdgekitError, MissingDependencyError

PRECISION_KEY = "INFERENCE_PRECISION_HINT"
RT_INFO_PATH = ["runtime_options", PRECISION_KEY]
"""Where an IR written by ``edgekit export`` keeps the inference precision it was gated at."""
DEVICE = "CPU"


def import_openvino() -> Any:
    """The ``openvino`` module, or a one-line ``MissingDependencyError`` that says how to install it."""
    try:
        import openvino
    except ImportError as e:
        raise MissingDependencyError("the OpenVINO runtime (openvino)", "pip install 'edgekit[openvino]'") from e
    return openvino


def bf16_capable(core: Any) -> bool:
    """Whether OpenVINO's CPU plugin runs BF16 natively here (AMX or AVX512-BF16); elsewhere it runs ``f32``."""
    return "BF16" in core.get_property(DEVICE, "OPTIMIZATION_CAPABILITIES")


class OpenVINOBackend(FixedSpecs):
    """An ``openvino.CompiledModel`` on the CPU behind the backend protocol."""

    def __init__(self, path: Path, options: BackendOptions) -> None:
        ov = import_openvino()
        if path.suffix.lower() == ".xml":
            _check_ir(path)
        self.core = ov.Core()
        try:
            model = self.core.read_model(str(path))
        except Exception as e:  # OpenVINO raises RuntimeError with a multi-line C++ trace
            raise EdgekitError(f"cannot load {path} with OpenVINO: {_first_line(e)}") from e
        if any(i.get_partial_shape().is_dynamic for i in model.inputs):
            raise EdgekitError(f"{path} has a dynamic input shape; export it with a fixed size for OpenVINO")
        wanted = (
            str(model.get_rt_info(RT_INFO_PATH).astype(str)) if model.has_rt_info(RT_INFO_PATH) else "f32"
        )
        config: dict[str, Any] = {PRECISION_KEY: wanted, "PERFORMANCE_HINT": "LATENCY"}
        if options.streams > 1:  # the threads split among streams, each running its own inference
            config.update({"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": options.streams})
        if options.threads > 0:
            config["INFERENCE_NUM_THREADS"] = options.threads
        config.update(options.extra)
        try:
            self._compiled = self.core.compile_model(model, DEVICE, config)
        except Exception as e:
            raise EdgekitError(f"cannot compile {path} for the OpenVINO CPU plugin: {_first_line(e)}") from e
        self.path = path
        self.requested_precision = str(config[PRECISION_KEY])
        # What the plugin actually runs: a BF16 request falls back to f32 on a CPU without BF16 units.
        self.precision = _type_name(self._compiled.get_property(PRECISION_KEY))
        self.threads = int(self._compiled.get_property("INFERENCE_NUM_THREADS"))
        self.hint = str(self._compiled.get_property("PERFORMANCE_HINT"))
        self.name = f"openvino[{DEVICE},{self.precision}]"
        self.streams = max(1, int(self._compiled.get_property("NUM_STREAMS"))) if options.streams > 1 else 1
        # one request per stream, for ``infer`` and ``submit``; a caller waits here when all are in flight
        self._free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for _ in range(self.streams):
            self._free.put(self._compiled.create_infer_request())
        self._inputs = [_spec(p) for p in self._compiled.inputs]
        self._outputs = [_spec(p) for p in self._compiled.outputs]

    def infer(self, inputs: list[npt.NDArray[np.generic]]) -> list[npt.NDArray[np.generic]]:
        check_input_count(inputs, len(self._inputs))
        request = self._free.get()
        try:
            # share_inputs: no copy of the frame
            request.infer(list(inputs), share_inputs=True)
            return self._outputs_of(request)
        finally:
            self._free.put(request)

    def submit(self, inputs: list[npt.NDArray[np.generic]]) -> Pending:
        """Start an inference on a free stream (waiting for one when all are busy); the returned call waits for its
        outputs and frees the stream. ``inputs`` are shared, not copied: they stay referenced until then."""
        check_input_count(inputs, len(self._inputs))
        held = list(inputs)
        request = self._free.get()
        try:
            request.start_async(held, share_inputs=True)
        except BaseException:
            self._free.put(request)
            raise
        done: list[list[npt.NDArray[np.generic]]] = []

        def wait() -> list[npt.NDArray[np.generic]]:
            if not done:
                try:
                    request.wait()
                    done.append(self._outputs_of(request))
                finally:
                    self._free.put(request)
                    held.clear()
            return done[0]

        return wait

    def _outputs_of(self, request: Any) -> list[npt.NDArray[np.generic]]:
        """A finished request's outputs, copied: its output tensors are reused by its next run."""
        return [np.array(request.get_output_tensor(i).data) for i in range(len(self._outputs))]

    def close(self) -> None:
        self.__dict__.pop("_free", None)
        self.__dict__.pop("_compiled", None)


def _check_ir(path: Path) -> None:
    """Refuse an ``.xml`` that is not an IR before OpenVINO does: for a file no frontend claims, ``read_model``
    tries each one in turn (TensorFlow's writes its parse errors straight to stderr) and names none of the problems."""
    try:
        root = ET.parse(path).getroot()  # the graph only (weights are in the .bin): milliseconds
    except ET.ParseError as e:
        raise EdgekitError(f"{path} is not an OpenVINO IR: {e}") from None
    if root.tag != "net":
        raise EdgekitError(f"{path} is not an OpenVINO IR: its root element is <{root.tag}>, not <net>")
    if not path.with_suffix(".bin").is_file():
        raise EdgekitError(f"{path} has no weights beside it: copy {path.with_suffix('.bin').name} with it")


def _first_line(e: Exception) -> str:
    """The message of an OpenVINO exception without its C++ source locations (``Exception from …``, ``Check …``)."""
    lines = [ln.strip() for ln in str(e).splitlines()]
    useful = [ln for ln in lines if ln and not ln.startswith(("Exception from ", "Check "))]
    return (useful[0] if useful else type(e).__name__)[:300]


def _type_name(t: Any) -> str:
    """``<Type: 'float32'>`` → ``f32`` (OpenVINO's own short names: f32, bf16, f16)."""
    return str(t.get_type_name()) if hasattr(t, "get_type_name") else str(t)


def _spec(port: Any) -> TensorSpec:
    shape = tuple(int(d.get_length()) if d.is_static else None for d in port.get_partial_shape())
    name = port.get_any_name() if port.get_names() else port.get_node().get_friendly_name()
    return TensorSpec(name, shape, np.dtype(port.get_element_type().to_dtype()).name)
