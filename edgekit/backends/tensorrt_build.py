"""ONNX → TensorRT engine (TensorRT 8.5 to 10.x): FP16, or INT8 by explicit quantization (QDQ ONNX).

The engine file is the plain serialized engine (no bytes prepended, unlike Ultralytics' ``.engine``); what a
reader needs to know (input size, precision, labels, box scale, TensorRT version, GPU) goes to a JSON sidecar
``<engine>.json``. The implicit INT8 calibrator API is deprecated in TensorRT 10, so INT8 takes the QDQ model from
the ONNX INT8 gate. A timing cache next to the engine makes rebuilds on the same GPU fast.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from edgekit.backends.tensorrt_engine import (
    EngineSidecar,
    first_start_message,
    gpu_name,
    import_tensorrt,
    rebuild_reason,
    timing_cache_path,
)
from edgekit.backends.tensorrt_version import needs_explicit_batch
from edgekit.errors import EdgekitError

log = logging.getLogger(__name__)


def workspace_for(model_mb: int) -> int:
    """Builder workspace (MiB) from a profile's model memory budget: half of it, within 256..4096 MiB."""
    return max(256, min(4096, model_mb // 2))


def onnx2engine(
    src: Path,
    out: Path,
    *,
    precision: str,
    imgsz: int,
    labels: list[str],
    workspace_mb: int = 1024,
    dynamic_batch: bool = False,
    max_batch: int = 1,
    box_scale: float = 1.0,
) -> Path:
    """Build ``out`` from ``src``. ``precision``: ``fp32``, ``fp16``, or ``int8`` (``src`` must be a QDQ model)."""
    import_tensorrt()  # one line when TensorRT is missing or older than 8.5
    import tensorrt as trt  # checked just above: real (libnvinfer) and >= 8.5; its calls are in TENSORRT_API

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0  # TensorRT 10+: networks are always explicit batch (the flag is deprecated there)
    if needs_explicit_batch(trt.__version__):  # 8.x: the ONNX parser rejects a network created without it
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(src)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EdgekitError(f"TensorRT cannot parse {src}: {errors[:300]}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)  # INT8: layers left in float (the decode tail) run in FP16
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)  # explicit quantization: scales come from the Q/DQ nodes
    cache_path = timing_cache_path(out)
    cache = config.create_timing_cache(cache_path.read_bytes() if cache_path.is_file() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    if dynamic_batch:
        profile = builder.create_optimization_profile()
        for t in inputs:
            c, h, w = (int(d) for d in t.shape[1:])
            profile.set_shape(t.name, (1, c, h, w), (max(1, max_batch // 2), c, h, w), (max_batch, c, h, w))
        config.add_optimization_profile(profile)
    t0 = time.perf_counter()
    blob = builder.build_serialized_network(network, config)
    if blob is None:
        raise EdgekitError(f"TensorRT failed to build an engine from {src} ({precision}); see the log above")
    seconds = time.perf_counter() - t0
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")  # a build cut short (SIGTERM) leaves no half engine behind
    part.write_bytes(bytes(memoryview(blob)))
    part.replace(out)
    cache_path.write_bytes(bytes(memoryview(config.get_timing_cache().serialize())))
    outputs = [network.get_output(i) for i in range(network.num_outputs)]
    EngineSidecar(
        source=str(src),
        precision=precision,
        imgsz=imgsz,
        labels=labels,
        box_scale=box_scale,
        dynamic_batch=dynamic_batch,
        max_batch=max_batch,
        workspace_mb=workspace_mb,
        tensorrt=str(trt.__version__),
        gpu=gpu_name(),
        build_seconds=round(seconds, 1),
        inputs=[{"name": t.name, "shape": [int(d) for d in t.shape]} for t in inputs],
        outputs=[{"name": t.name, "shape": [int(d) for d in t.shape]} for t in outputs],
    ).write(out)
    log.info("built %s in %.0f s (%s)", out, seconds, precision)
    return out


def ensure_engine(
    src: Path,
    engine: Path,
    *,
    precision: str,
    imgsz: int,
    labels: list[str],
    workspace_mb: int = 1024,
) -> Path:
    """The engine a TensorRT profile runs, built from ``src`` first when it is missing or was built by another
    TensorRT version or GPU (a board's first start after a deploy: bundles carry the ONNX, never an engine)."""
    trt = import_tensorrt()  # one line with the install hint when TensorRT is not here
    reason = rebuild_reason(engine, str(trt.__version__), gpu_name())
    if reason is None:
        return engine
    log.warning(first_start_message(src, engine, precision, reason))
    return onnx2engine(src, engine, precision=precision, imgsz=imgsz, labels=labels, workspace_mb=workspace_mb)
