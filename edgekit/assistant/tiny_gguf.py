"""Write a tiny random-weight llama-architecture GGUF with the ``gguf`` package (a dev dependency).

It loads in llama.cpp in milliseconds, so tests of loading, streaming, constrained output and error paths do
not need a real model; its text is noise. The vocabulary is SentencePiece-style byte fallback: 3 control
tokens, the 256 byte tokens and a few words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import MissingDependencyError

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
_WORDS = ["▁the", "▁tool", "▁count", "▁events", "{", "}", '"', ":", ",", "▁null", "<|im_start|>", "<|im_end|>"]


def write_tiny_gguf(
    path: Path,
    *,
    n_layer: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_ff: int = 128,
    context_length: int = 8192,
    chat_template: str | None = CHATML,
    seed: int = 0,
    qtype: str | None = None,
    n_vocab: int | None = None,
    tied_qtype: str | None = None,
) -> Path:
    """Write the model to ``path`` and return it; ``qtype`` (e.g. ``"Q4_1"``) quantises the weight matrices.

    ``n_vocab`` pads the vocabulary with word tokens (``▁w0``, ``▁w1`` …) to that size. ``tied_qtype`` writes no
    ``output.weight``: the embedding, in that type, is also the output layer (as in SmolLM2 and Gemma 3), and its
    rows for the control and byte tokens are zero, so a greedy decode of these random weights emits only word
    tokens: every token a whole text piece, never end-of-text (what a decode-speed probe needs); its quantised
    matrices are random blocks (a small scale, random quants) instead of quantised Gaussian draws, so even a
    model of hundreds of MB is written in a second."""
    try:
        import gguf
    except ImportError as e:
        raise MissingDependencyError("the gguf package", "pip install gguf") from e
    tokens = ["<unk>", "<s>", "</s>", *[f"<0x{b:02X}>" for b in range(256)], *_WORDS]
    types = [2, 3, 3, *[6] * 256, *[1] * (len(_WORDS) - 2), 3, 3]
    n_special = len(tokens)
    if n_vocab is not None and n_vocab > n_special:
        tokens += [f"▁w{i}" for i in range(n_vocab - n_special)]
        types += [1] * (n_vocab - n_special)
    n_vocab = len(tokens)
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("edgekit-tiny-random")
    w.add_context_length(context_length)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_vocab_size(n_vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * 259 + [-float(i) for i in range(n_vocab - 259)])
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    if chat_template is not None:
        w.add_chat_template(chat_template)

    def t(name: str, *shape: int, as_type: str | None = qtype, zero_rows: int = 0) -> None:
        if tied_qtype is not None and as_type is not None:
            kind = gguf.GGMLQuantizationType[as_type]
            w.add_tensor(name, _random_blocks(rng, shape, kind, zero_rows), raw_dtype=kind)
            return
        data = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        if as_type is None:
            w.add_tensor(name, data)
            return
        from gguf import quants

        kind = gguf.GGMLQuantizationType[as_type]
        w.add_tensor(name, quants.quantize(data, kind), raw_dtype=kind)

    if tied_qtype is None:
        t("token_embd.weight", n_vocab, n_embd)
    else:
        t("token_embd.weight", n_vocab, n_embd, as_type=tied_qtype, zero_rows=n_special)
    w.add_tensor("output_norm.weight", np.ones(n_embd, np.float32))
    if tied_qtype is None:
        t("output.weight", n_vocab, n_embd)
    kv = n_embd // n_head * n_head_kv
    for i in range(n_layer):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, np.float32))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, np.float32))
        t(f"blk.{i}.attn_q.weight", n_embd, n_embd)
        t(f"blk.{i}.attn_k.weight", kv, n_embd)
        t(f"blk.{i}.attn_v.weight", kv, n_embd)
        t(f"blk.{i}.attn_output.weight", n_embd, n_embd)
        t(f"blk.{i}.ffn_gate.weight", n_ff, n_embd)
        t(f"blk.{i}.ffn_up.weight", n_ff, n_embd)
        t(f"blk.{i}.ffn_down.weight", n_embd, n_ff)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


#: Byte layout of the block types ``_random_blocks`` writes: (f16 fields at the block start, their values).
_BLOCK_SCALES = {"Q4_1": (0.002, -0.015), "Q8_0": (0.0002,)}


def _random_blocks(rng: np.random.Generator, shape: tuple[int, ...], kind: Any, zero_rows: int) -> np.ndarray:
    """Raw ``kind`` blocks (Q4_1 or Q8_0) for a ``shape`` matrix: random quants, a small fixed scale (|w| ≲ 0.03,
    like the Gaussian draws), the first ``zero_rows`` rows all zero."""
    import gguf

    name = gguf.GGMLQuantizationType(kind).name
    if name not in _BLOCK_SCALES:
        raise ValueError(f"random blocks are written for {sorted(_BLOCK_SCALES)}, not {name}")
    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(kind)]
    rows, cols = shape
    raw = rng.integers(0, 256, size=(rows, cols // block, size), dtype=np.uint8)
    scales = np.array(_BLOCK_SCALES[name], dtype=np.float16).view(np.uint8)
    raw[:, :, : scales.size] = scales
    raw[:zero_rows] = 0
    return raw.reshape(rows, cols // block * size)
