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
    """Weights one decoded token multiplies (``GGUFInfo.matvec_params``)."""
    from edgekit.assistant.gguf_meta import read_gguf_info

    return read_gguf_info(path).matvec_params


def write_probe_gguf(
    path: Path, n_embd: int, n_ff: int, n_layer: int, n_vocab: int | None = None, embd_qtype: str | None = None,
    n_head: int | None = None, n_head_kv: int | None = None,
) -> Path:
    """A random llama-architecture GGUF with Q4_1 matrices (the default assistant's type); with ``embd_qtype`` the
    embedding (that type, e.g. Q8_0 as in SmolLM2 and Gemma 3) is tied to the output layer, with ``n_vocab``
    tokens, and a greedy decode emits only whole word tokens (see ``write_tiny_gguf``)."""
    from edgekit.assistant.tiny_gguf import write_tiny_gguf

    heads = n_head or max(n_embd // 64, 1)
    return write_tiny_gguf(path, n_layer=n_layer, n_embd=n_embd, n_head=heads,
                           n_head_kv=n_head_kv or max(n_embd // 128, 1), n_ff=n_ff, context_length=512,
                           qtype="Q4_1", n_vocab=n_vocab, tied_qtype=embd_qtype)


@dataclass(frozen=True)
class DecodeShape:
    """What one decoded token costs a model, from its GGUF header: layers and their width, vocabulary, bytes."""

    n_layer: int
    n_embd: int
    n_ff: int
    n_head: int
    n_head_kv: int
    n_vocab: int
    n_params: int
    """Weights one token multiplies (``matvec_params``), tied output layer included."""
    weight_bytes: int
    attn_macs_per_past: int = 0
    """Attention multiply-adds per token already in the context (Q·K and the weighted V, all layers)."""
    kv_bytes_per_past: int = 0

    @classmethod
    def of(cls, path: Path) -> DecodeShape:
        from edgekit.assistant.gguf_meta import read_gguf_info

        info = read_gguf_info(path)
        return cls(n_layer=info.n_layer, n_embd=info.n_embd,
                   n_ff=info.n_ff, n_head=info.n_head,
                   n_head_kv=info.n_head_kv, n_vocab=info.n_vocab, n_params=info.matvec_params,
                   weight_bytes=info.weight_bytes,
                   attn_macs_per_past=info.n_layer * info.n_head * (info.head_dim_k + info.head_dim_v),
                   kv_bytes_per_past=info.kv_bytes(1))


@dataclass(frozen=True)
class DecodeProbe:
    """What the probes measured for one layer shape, per decoded token: a fixed cost, the cost of one layer (its
    matrix-vector products and the ~20 other graph operations, each a dispatch and a barrier of the threads), the
    cost of the output layer with the sampling over the vocabulary (llama-cpp-python's sampler scans every logit),
    the cost per million multiply-adds (for attention over the context), and the memory bandwidth."""

    overhead_ms: float
    ms_per_layer: float
    ms_per_kvocab: float
    ms_per_mparam: float
    bandwidth_gbs: float
    threads: int
    copy_bandwidth_gbs: float = 0.0
    """A large numpy copy's rate, for comparison: ``bandwidth_gbs`` is the rate llama.cpp streams weights."""

    def terms_ms(self, shape: DecodeShape, n_past: int = 0, bandwidth_efficiency: float = 1.0) -> dict[str, float]:
        """Per-token terms in ms for ``shape`` with ``n_past`` tokens in the context: ``fixed``, ``compute`` (layers,
        output and sampling, attention) and ``memory`` (weights and KV cache over the bandwidth)."""
        attn_ms = self.ms_per_mparam * shape.attn_macs_per_past * n_past / 1e6
        read = shape.weight_bytes + shape.kv_bytes_per_past * n_past
        return {
            "fixed": self.overhead_ms,
            "compute": self.ms_per_layer * shape.n_layer + self.ms_per_kvocab * shape.n_vocab / 1000 + attn_ms,
            "memory": 1000 * read / (self.bandwidth_gbs * bandwidth_efficiency * 1e9),
        }

    def predict_tps(self, shape: DecodeShape, n_past: int = 0, bandwidth_efficiency: float = 1.0) -> float:
        """Tokens/s: ``fixed + max(compute, memory)`` per token (the roofline)."""
        t = self.terms_ms(shape, n_past, bandwidth_efficiency)
        return round(1000 / (t["fixed"] + max(t["compute"], t["memory"])), 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stream_ms(path: Path, threads: int, tokens: int, repeats: int = 3) -> float:
    """ms per token of a streamed greedy completion, the call and settings the assistant decodes with
    (``LlamaEngine.complete_stream``), timed like the benchmark: first piece to last, the median of ``repeats``
    after a warm-up (the benchmark's statistic too, so a busy machine slows probe and measurement alike)."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=256, n_threads=threads, n_threads_batch=threads, n_batch=64,
                verbose=False)
    words = list(range(llm.n_vocab() - 4, llm.n_vocab()))  # padded word tokens: their embeddings are not zero
    try:
        samples = []
        for i in range(repeats + 1):
            llm.reset()
            first = end = 0.0
            n = 0
            chunks: Any = llm.create_completion(words, max_tokens=tokens + 1, temperature=0.0, stream=True)
            for chunk in chunks:
                if not chunk["choices"][0]["text"]:
                    continue
                end = time.perf_counter()
                if n == 0:
                    first = end
                n += 1
            if i and n > 1:  # the first run warms the pages and caches
                samples.append((end - first) * 1000 / (n - 1))
        if not samples:
            raise EdgekitError(f"the decode probe on {path.name} produced no tokens")
        return float(np.median(samples))
    finally:
        llm.close()


#: The weight-streaming probe: (n_embd, n_ff, n_layer) of a ~240 MB Q4_1 model, more than the caches hold.
STREAM_MODEL = (2048, 5632, 8)


def stream_bandwidth_gbs(threads: int, tokens: int = 8) -> float:
    """GB/s of weights llama.cpp reads per decoded token of a ~240 MB synthetic model: the memory side of the
    roofline as the engine reaches it (a lower bound: the matrix-vector work is in it too)."""
    embd, ff, layers = STREAM_MODEL
    with tempfile.TemporaryDirectory() as tmp:
        p = write_probe_gguf(Path(tmp) / "stream.gguf", embd, ff, layers, SMALL_VOCAB, "Q8_0")
        from edgekit.assistant.gguf_meta import read_gguf_info

        nbytes = read_gguf_info(p).weight_bytes
        ms = _stream_ms(p, threads, tokens)
    return round(nbytes / ms / 1e6, 2)


#: Depths of the two slices (the deeper one never deeper than the target), and the vocabulary of the slices that
#: leave the target's output layer out. The deep slice is deep on purpose: per layer, a 16-layer slice of SmolLM2
#: ran 10-30 % slower than an 8-layer one here (more weights than the caches hold), and the target deeper still.
SLICE_LAYERS = (2, 16)
SMALL_VOCAB = 512


def probe_decode(threads: int, shape: DecodeShape, tokens: int = 24) -> DecodeProbe:
    """Decode ``tokens`` on three synthetic models built with ``shape``'s layer width, heads and feed-forward size
    (random Q4_1 weights, a tied Q8_0 embedding; written in a second): two slices of different depth with a small
    vocabulary (their difference is the cost per layer) and the shallow slice with ``shape``'s vocabulary (the
    difference: its output layer and the sampling over it); the memory side is ``stream_bandwidth_gbs``. A few
    seconds in all."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError as e:
        raise MissingDependencyError("llama-cpp-python", "bash scripts/install_llm.sh") from e
    lo, hi = SLICE_LAYERS[0], max(SLICE_LAYERS[0] + 2, min(SLICE_LAYERS[1], shape.n_layer))
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        vocab = max(shape.n_vocab, 8 * SMALL_VOCAB)
        for name, layers, n_vocab in (("shallow", lo, SMALL_VOCAB), ("deep", hi, SMALL_VOCAB), ("vocab", lo, vocab)):
            paths[name] = write_probe_gguf(Path(tmp) / f"{name}.gguf", shape.n_embd, shape.n_ff, layers, n_vocab,
                                           "Q8_0", n_head=shape.n_head, n_head_kv=shape.n_head_kv)
        layer_params = (matvec_params(paths["deep"]) - shape.n_embd * SMALL_VOCAB) / hi
        for _ in range(3):
            times = {name: _stream_ms(p, threads, tokens) for name, p in paths.items()}
            # another process taking a core can stall llama.cpp's spinning threads for a whole run (a 2-layer
            # slice once took 170 ms/token here); a shallow slice slower than a deeper or wider one shows it
            if times["shallow"] <= min(times["deep"], times["vocab"]):
                break
    # timing noise can push a difference below zero; none of these costs can be negative
    per_layer = max((times["deep"] - times["shallow"]) / (hi - lo), 1e-6)
    return DecodeProbe(
        overhead_ms=round(max(times["shallow"] - lo * per_layer, 0.0), 4),
        ms_per_layer=round(per_layer, 5),
        ms_per_kvocab=round(max(times["vocab"] - times["shallow"], 0.0) / (vocab - SMALL_VOCAB) * 1000, 6),
        ms_per_mparam=round(per_layer / (layer_params / 1e6), 5),
        bandwidth_gbs=stream_bandwidth_gbs(threads),
        threads=threads,
        copy_bandwidth_gbs=memory_bandwidth_gbs(),
    )
