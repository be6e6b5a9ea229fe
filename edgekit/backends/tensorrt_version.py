"""Which TensorRT versions edgekit runs, and the one place the 8.x and 10.x Python APIs differ for it.

The minimum is TensorRT 8.5 (JetPack 5.1 ships 8.5.2, JetPack 6 ships 10.x): the backend's name-based I/O
(``num_io_tensors``, ``get_tensor_name``, ``get_tensor_mode``, ``set_input_shape``, ``set_tensor_address``,
``execute_async_v3``) arrived in 8.5; before it there were only binding indices. What the builder calls exists from
8.4 (``set_memory_pool_limit``) or earlier (``build_serialized_network``, timing caches, ``parse_from_file``). What
differs: before 10.0 an ONNX network must be created with the explicit-batch flag; from 10.0 implicit batch is gone
and the flag is deprecated and ignored, so none is passed there.

Examples:
    >>> tensorrt_version("8.5.2.2")
    (8, 5)
    >>> needs_explicit_batch("8.5.2.2"), needs_explicit_batch("10.3.0")
    (True, False)
"""

from __future__ import annotations

import re

from edgekit.errors import EdgekitError, MissingDependencyError

MIN_TENSORRT = (8, 5)
SUPPORTED = "TensorRT >= 8.5"


def tensorrt_version(text: str) -> tuple[int, int]:
    """``(major, minor)`` of a ``tensorrt.__version__``; an unreadable or unsupported one is a one-line error
    (``MissingDependencyError`` for one older than 8.5)."""
    m = re.match(r"\s*(\d+)\.(\d+)", text)
    if m is None:
        raise EdgekitError(f"cannot read the TensorRT version {text!r}; edgekit needs {SUPPORTED}")
    version = (int(m[1]), int(m[2]))
    if version < MIN_TENSORRT:  # "not available", as if absent: a profile's stand-in runs instead where it may
        raise MissingDependencyError(
            SUPPORTED,
            f"this is TensorRT {text.strip()}, older than the name-based tensor API edgekit uses; on a Jetson flash "
            "JetPack 6 (JetPack 5.1 has 8.5 but Python 3.8), elsewhere install a newer TensorRT",
        )
    return version


def needs_explicit_batch(version: str) -> bool:
    """Whether an ONNX network must be created with ``1 << NetworkDefinitionCreationFlag.EXPLICIT_BATCH`` on
    TensorRT ``version``: required before 10.0; from 10.0 deprecated and ignored (and not to be relied on later)."""
    major, _ = tensorrt_version(version)
    return major < 10


TENSORRT_API: tuple[str, ...] = (
    # the builder (tensorrt_build)
    "Logger.WARNING", "Builder.create_network", "Builder.create_builder_config", "Builder.build_serialized_network",
    "Builder.create_optimization_profile", "NetworkDefinitionCreationFlag.EXPLICIT_BATCH", "OnnxParser.parse_from_file",
    "OnnxParser.num_errors", "OnnxParser.get_error", "INetworkDefinition.num_inputs", "INetworkDefinition.get_input",
    "INetworkDefinition.num_outputs", "INetworkDefinition.get_output", "ITensor.name", "ITensor.shape",
    "IBuilderConfig.set_memory_pool_limit", "MemoryPoolType.WORKSPACE", "IBuilderConfig.set_flag", "BuilderFlag.FP16",
    "BuilderFlag.INT8", "IBuilderConfig.create_timing_cache", "IBuilderConfig.set_timing_cache",
    "IBuilderConfig.get_timing_cache", "ITimingCache.serialize", "IBuilderConfig.add_optimization_profile",
    "IOptimizationProfile.set_shape",
    # the backend (tensorrt)
    "Runtime.deserialize_cuda_engine", "ICudaEngine.create_execution_context", "ICudaEngine.num_io_tensors",
    "ICudaEngine.get_tensor_name", "ICudaEngine.get_tensor_mode", "TensorIOMode.INPUT", "ICudaEngine.get_tensor_shape",
    "ICudaEngine.get_tensor_dtype", "IExecutionContext.set_input_shape", "IExecutionContext.set_tensor_address",
    "IExecutionContext.get_tensor_shape", "IExecutionContext.execute_async_v3",
)
"""Every ``Class.member`` of TensorRT's Python API the builder and the backend use: all of them exist from 8.5 on
(TensorRT's own API docs) and in 10.x (checked by the tests against ``tensorrt-stubs``; PyPI has no 8.x stubs).
mypy cannot check these calls: the stubs' ``tensorrt`` package has no ``py.typed`` and their ``.pyi`` do not parse
(10.12, 10.13: parameters named ``in``, required ones after defaults), so ``tensorrt`` is ``Any`` to it."""
