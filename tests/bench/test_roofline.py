"""Roofline predictions: FLOPs counted from the real detector's graph, probes that run for real, the bound math."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.bench.roofline import DecodeProbe, conv_probe_gflops, matvec_params, model_gflops, write_probe_gguf
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


def test_decode_bound_is_the_larger_of_compute_and_memory() -> None:
    p = DecodeProbe(overhead_ms=1.0, ms_per_mparam=0.05, bandwidth_gbs=10.0, threads=2)
    # compute 100M × 0.05 ms = 5 ms; memory 60 MB / 10 GB/s = 6 ms → memory bound: 1 + 6 = 7 ms/token
    assert p.predict_tps(100_000_000, 60_000_000) == pytest.approx(1000 / 7, abs=0.1)
    # a model 10× larger in parameters but the same bytes is compute bound: 1 + 50 ms
    assert p.predict_tps(1_000_000_000, 60_000_000) == pytest.approx(1000 / 51, abs=0.1)


def test_probe_gguf_is_q4_1_and_counts_its_matrices(tmp_path: Path) -> None:
    from gguf import GGMLQuantizationType, GGUFReader

    path = write_probe_gguf(tmp_path / "p.gguf", n_embd=256, n_ff=704, n_layer=2)
    types = {t.name: t.tensor_type for t in GGUFReader(str(path)).tensors}
    assert types["blk.0.ffn_up.weight"] == GGMLQuantizationType.Q4_1
    per_layer = 2 * 256 * 256 + 2 * 128 * 256 + 3 * 704 * 256
    assert matvec_params(path) == 2 * per_layer + 271 * 256  # + the output layer (271-token vocabulary)


@pytest.mark.slow
def test_decode_probe_runs_llama_cpp() -> None:
    from edgekit.bench.roofline import probe_decode

    p = probe_decode(threads=1, tokens=8)
    assert p.ms_per_mparam > 0 and p.bandwidth_gbs > 0 and p.overhead_ms >= 0
