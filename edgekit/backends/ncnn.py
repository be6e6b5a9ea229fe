"""ncnn backend: a ``.ncnn.param`` graph with its ``.ncnn.bin`` weights, on the CPU.

ncnn's own defaults store activations in FP16 (and compute in FP16 on ARMv8.2 CPUs such as a Pi 5's Cortex-A76),
which would run an "FP32" model in half precision unasked. So the precision is always set: an artifact written by
``edgekit export --to ncnn`` names the precision it was gated at (``…_fp16.ncnn.param``, the project's one naming
rule), anything else runs FP32; ``BackendOptions.extra["precision"]`` wins over both.

A ``.param`` file carries no output shapes and ncnn has no batch axis, so the input shape is read from the Input
layer (``0=w 1=h 2=c``, which the export writes) and the output shapes from one probe run at load; arrays go in and
come out with a leading batch axis of 1, like the ONNX model they came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.backends.base import BackendOptions, FixedSpecs, TensorSpec, check_input_count
from edgekit.errors import EdgekitError, MissingDependencyError

PRECISIONS = ("fp32", "fp16")
MAGIC = "7767517"
"""First line of every ncnn ``.param`` text file."""
_FP16_OPTIONS = ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic")


def import_ncnn() -> Any:
    """The ``ncnn`` module, or a one-line ``MissingDependencyError`` that says how to install it."""
    try:
        import ncnn
    except ImportError as e:
        raise MissingDependencyError("the ncnn runtime (ncnn)", "pip install 'edgekit[ncnn]'") from e
    return ncnn


def weights_of(param: Path) -> Path:
    """The weights file beside a ``.param`` (``m.ncnn.param`` → ``m.ncnn.bin``)."""
    return param.with_suffix(".bin")


def precision_of(param: Path, options: BackendOptions) -> str:
    """The precision to run ``param`` at: the option, else the one its exported name carries, else FP32."""
    wanted = options.extra.get("precision") or ("fp16" if param.name.endswith("_fp16.ncnn.param") else "fp32")
    if wanted not in PRECISIONS:
        raise EdgekitError(f"ncnn runs {', '.join(PRECISIONS)}, not {wanted!r}")
    return wanted


def input_shapes(param: Path) -> dict[str, tuple[int, ...]]:
    """Each Input layer's blob name → its NCHW shape with batch 1, from the ``.param`` text (``0=w 1=h 2=c``)."""
    try:
        lines = param.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise EdgekitError(f"cannot read ncnn graph {param}: {e}") from None
    if not lines or lines[0].strip() != MAGIC:
        raise EdgekitError(f"{param} is not an ncnn .param file (its first line is not {MAGIC})")
    shapes: dict[str, tuple[int, ...]] = {}
    for line in lines[2:]:
        f = line.split()
        if len(f) < 5 or f[0] != "Input":
            continue
        top = f[4]  # Input: type name 0 bottoms, 1 top
        kv = dict(p.split("=", 1) for p in f[5:] if "=" in p)
        dims = [int(kv.get(k, "0")) for k in ("2", "1", "0")]  # c, h, w
        if not all(d > 0 for d in dims):
            raise EdgekitError(
                f"{param}: input {top!r} has no shape (0=w 1=h 2=c) in its Input layer; export it with "
                "`edgekit export --to ncnn`, which writes it"
            )
        shapes[top] = (1, *dims)
    if not shapes:
        raise EdgekitError(f"{param} has no Input layer")
    return shapes


class NcnnBackend(FixedSpecs):
    """An ``ncnn.Net`` on the CPU behind the backend protocol."""

    def __init__(self, path: Path, options: BackendOptions) -> None:
        ncnn = import_ncnn()
        weights = weights_of(path)
        if not weights.is_file():
            raise EdgekitError(f"{path} has no weights beside it: copy {weights.name} with it")
        shapes = input_shapes(path)
        self.precision = precision_of(path, options)
        self._ncnn = ncnn
        self.net = ncnn.Net()
        opt = self.net.opt
        opt.use_vulkan_compute = False
        opt.use_bf16_storage = False
        for name in _FP16_OPTIONS:
            setattr(opt, name, self.precision == "fp16")
        if options.threads > 0:
            opt.num_threads = options.threads
        self.threads = int(opt.num_threads)
        # ncnn's loaders return -1 and print to stderr instead of raising.
        if self.net.load_param(str(path)) != 0 or self.net.load_model(str(weights)) != 0:
            raise EdgekitError(f"cannot load {path} with ncnn (graph or weights do not match)")
        self.path = path
        self.name = f"ncnn[CPU,{self.precision}]"
        names = list(self.net.input_names())
        missing = [n for n in names if n not in shapes]
        if missing:
            raise EdgekitError(f"{path}: input {missing[0]!r} is not an Input layer with a shape")
        self._inputs = [TensorSpec(n, shapes[n], "float32") for n in names]
        self._output_names = list(self.net.output_names())
        probe = self.infer([np.zeros(s.static_shape or (), np.float32) for s in self._inputs])
        self._outputs = [TensorSpec(n, o.shape, "float32") for n, o in zip(self._output_names, probe, strict=True)]

    def infer(self, inputs: list[npt.NDArray[np.generic]]) -> list[npt.NDArray[np.generic]]:
        check_input_count(inputs, len(self._inputs))
        ex = self.net.create_extractor()
        # ncnn.Mat wraps the array's memory without a copy: the arrays must live until the last extract.
        arrays = [np.ascontiguousarray(x, np.float32) for x in inputs]
        for spec, a in zip(self._inputs, arrays, strict=True):
            if a.shape != spec.shape:
                raise ValueError(f"input {spec.name!r} takes shape {list(spec.shape)}, got {list(a.shape)}")
            ex.input(spec.name, self._ncnn.Mat(a[0]))
        outs = []
        for name in self._output_names:
            ret, mat = ex.extract(name)
            if ret != 0:
                raise EdgekitError(f"ncnn failed to compute {name!r} (error {ret})")
            outs.append(np.array(mat)[None])  # a copy: the Mat's memory goes with the extractor
        return outs

    def close(self) -> None:
        net = self.__dict__.pop("net", None)
        if net is not None:
            net.clear()
