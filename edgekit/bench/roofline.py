"""Predict latency before measuring it: a roofline of compute and memory bandwidth, from short probes.

- Detector: the ONNX graph's FLOPs (convolutions and matrix products, counted from shape inference) divided by the
  rate ONNX Runtime reaches on a probe of typical YOLO convolutions on this machine, with the same threads.
- LLM decode: per token, a fixed overhead plus ``max(compute, memory)``: compute is the cost per weight measured on
  two synthetic Q4_1 GGUFs of different sizes (a straight-line fit gives overhead and cost per parameter), memory
  is the weight bytes over the bandwidth a large copy reaches.

On a board without the probe, the profile's data-sheet figures stand in (``board.cpu_gflops`` where the profile
has it, ``board.mem_bandwidth_gbs``), and the JSON says which was used. Predicted and measured go side by side in
every benchmark, so a wrong model shows up as a ratio, not as a surprise on the board.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import EdgekitError, MissingDependencyError


# -- detector ------------------------------------------------------------------------------------------------------
def model_gflops(path: Path) -> float:
    """FLOPs (×1e9) of one inference of an ONNX model with static shapes: 2 × MACs of Conv, MatMul and Gemm."""
    try:
        import onnx
    except ImportError as e:
        raise MissingDependencyError("onnx", "pip install 'edgekit[export]'") from e
    try:
        model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    except Exception as e:  # onnx raises its own and protobuf errors for a corrupt file
        raise EdgekitError(f"cannot read ONNX model {path}: {str(e).splitlines()[0] if str(e) else e}") from None
    g = model.graph
    shapes: dict[str, list[int]] = {}
    for vi in [*g.input, *g.value_info, *g.output]:
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    for init in g.initializer:
        shapes[init.name] = list(init.dims)
    macs = 0
    for node in g.node:
        if node.op_type == "Conv":
            w = shapes.get(node.input[1])
            out = shapes.get(node.output[0])
            if not w or not out or 0 in out:
                raise EdgekitError(f"{path}: no static shape for {node.name}; FLOPs need a fixed input size")
            _cout, cin_per_group, *k = w
            macs += int(np.prod(out)) * cin_per_group * int(np.prod(k))
        elif node.op_type in ("MatMul", "Gemm"):
            a, out = shapes.get(node.input[0]), shapes.get(node.output[0])
            if a and out and 0 not in a and 0 not in out:
                macs += int(np.prod(out)) * a[-1]
    return round(2 * macs / 1e9, 3)


def _probe_model() -> tuple[bytes, float]:
    """A chain of convolutions shaped like a YOLOv8s backbone/neck (3×3 and 1×1, 64–256 channels)."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    layers = [(64, 64, 3, 80), (64, 128, 3, 80), (128, 128, 1, 80), (128, 128, 3, 40), (128, 256, 3, 40),
              (256, 256, 1, 40), (256, 256, 3, 20)]
    nodes, inits, macs = [], [], 0
    prev = "x"
    for i, (cin, cout, k, hw) in enumerate(layers):
        if i and layers[i - 1][3] != hw:  # downsample like YOLO's strided convs, with a cheap pool
            nodes.append(helper.make_node("MaxPool", [prev], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            prev = f"p{i}"
        w = (rng.standard_normal((cout, cin, k, k)) * 0.05).astype(np.float32)
        inits.append(helper.make_tensor(f"w{i}", TensorProto.FLOAT, w.shape, w.tobytes(), raw=True))
        nodes.append(helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], pads=[k // 2] * 4))
        nodes.append(helper.make_node("Sigmoid", [f"c{i}"], [f"s{i}"]))
        nodes.append(helper.make_node("Mul", [f"c{i}", f"s{i}"], [f"y{i}"]))  # SiLU, as in YOLOv8
        prev = f"y{i}"
        macs += cout * cin * k * k * hw * hw
    graph = helper.make_graph(
        nodes, "conv_probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 80, 80])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # readable by every ONNX Runtime edgekit supports, whatever the onnx package writes
    return onnx.shape_inference.infer_shapes(model).SerializeToString(), 2 * macs / 1e9


def conv_probe_gflops(threads: int, seconds: float = 1.0) -> float:
    """GFLOP/s that ONNX Runtime's CPU provider reaches on YOLO-like convolutions with ``threads`` threads."""
    import onnxruntime as ort

    blob, gflop = _probe_model()
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    sess = ort.InferenceSession(blob, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).random((1, 64, 80, 80), dtype=np.float32)
    for _ in range(3):
        sess.run(None, {"x": x})
    best, t_end = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t0 = time.perf_counter()
        sess.run(None, {"x": x})
        best = min(best, time.perf_counter() - t0)
    return round(gflop / best, 2)


def predict_detector_ms(gflops: float, rate_gflops: float) -> float:
    """Predicted inference latency: the model's work over the rate the probe reached.

    Examples:
        >>> predict_detector_ms(28.6, 143.0)
        200.0
    """
    return round(1000 * gflops / rate_gflops, 2)


# -- LLM decode ----------------------------------------------------------------------------------------------------
def memory_bandwidth_gbs(mb: int = 256, repeats: int = 5) -> float:
    """GB/s of a large array copy (bytes read + written), best of ``repeats``: the STREAM-copy idea in numpy."""
    src = np.ones(mb * 2**20 // 8, dtype=np.float64)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return round(2 * src.nbytes / best / 1e9, 2)


def matvec_params(path: Path) -> int:
    """Weights one decoded token multiplies: every 2-D matrix but the embedding lookup (which reads one row),
    plus the embedding where it doubles as the output layer (tied weights)."""
    try:
        from gguf import GGUFReader
    except ImportError as e:
        raise MissingDependencyError("the gguf package", "pip install gguf") from e
    tensors = {t.name: int(np.prod(t.shape)) for t in GGUFReader(str(path)).tensors if len(t.shape) == 2}
    n = sum(v for k, v in tensors.items() if k != "token_embd.weight")
    if "output.weight" not in tensors:
        n += tensors.get("token_embd.weight", 0)
    return n


def write_probe_gguf(path: Path, n_embd: int, n_ff: int, n_layer: int) -> Path:
    """A random llama-architecture GGUF with Q4_1 matrices (the default assistant's type)."""
    from edgekit.assistant.tiny_gguf import write_tiny_gguf

    return write_tiny_gguf(path, n_layer=n_layer, n_embd=n_embd, n_head=n_embd // 64, n_head_kv=n_embd // 128,
                           n_ff=n_ff, context_length=512, qtype="Q4_1")


@dataclass(frozen=True)
class DecodeProbe:
    """What the probes measured: fixed cost per token, cost per million weights, and memory bandwidth."""

    overhead_ms: float
    ms_per_mparam: float
    bandwidth_gbs: float
    threads: int

    def predict_tps(self, n_params: int, weight_bytes: int, bandwidth_efficiency: float = 1.0) -> float:
        """Tokens/s: ``overhead + max(compute, memory)`` per token."""
        compute_ms = self.ms_per_mparam * n_params / 1e6
        memory_ms = 1000 * weight_bytes / (self.bandwidth_gbs * bandwidth_efficiency * 1e9)
        return round(1000 / (self.overhead_ms + max(compute_ms, memory_ms)), 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decode_ms(path: Path, threads: int, tokens: int) -> float:
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=256, n_threads=threads, n_batch=64, verbose=False)
    try:
        llm.eval([1, 260, 261])
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for i in range(tokens):
                llm.eval([259 + i % 8])
            best = min(best, (time.perf_counter() - t0) * 1000 / tokens)
            llm.reset()
            llm.eval([1, 260, 261])
        return best
    finally:
        llm.close()


def probe_decode(threads: int, tokens: int = 24) -> DecodeProbe:
    """Decode ``tokens`` on two synthetic Q4_1 models and fit ms/token = overhead + cost × parameters."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError as e:
        raise MissingDependencyError("llama-cpp-python", "bash scripts/install_llm.sh") from e
    with tempfile.TemporaryDirectory() as tmp:
        sizes = []
        for name, (embd, ff, layers) in {"small": (256, 704, 2), "large": (768, 2048, 6)}.items():
            p = write_probe_gguf(Path(tmp) / f"{name}.gguf", embd, ff, layers)
            sizes.append((matvec_params(p), _decode_ms(p, threads, tokens)))
    (n0, t0), (n1, t1) = sizes
    slope = max((t1 - t0) / ((n1 - n0) / 1e6), 1e-6)
    return DecodeProbe(overhead_ms=round(max(t0 - slope * n0 / 1e6, 0.0), 3), ms_per_mparam=round(slope, 5),
                       bandwidth_gbs=memory_bandwidth_gbs(), threads=threads)
