"""Will this GGUF fit the board, and how fast will it decode? Answered from the file's header, before loading.

Memory = weights (mmapped, but decoding touches every page, so they count in full) + KV cache (f16, all
layers, the requested context) + llama.cpp's compute buffers (dominated by the n_batch × n_vocab logits
matrix of a prompt batch and the n_batch × n_ctx × n_head attention scores) + a fixed runtime overhead.

Decode speed: generating one token reads every weight once (tied embeddings included), so tokens/s is bounded
by memory bandwidth / bytes read per token; ``efficiency`` is the share of peak bandwidth llama.cpp reaches.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.assistant.gguf_meta import GGUFInfo
from edgekit.errors import EdgekitError

MIB = 2**20
#: Share of peak DRAM bandwidth a llama.cpp decode reaches on small ARM/x86 boards (a rule of thumb; the
#: benchmark prints the measured value next to the prediction so it can be checked).
DEFAULT_BANDWIDTH_EFFICIENCY = 0.6
#: Python, numpy and the llama.cpp library before any model is loaded (57 MB RSS measured here).
RUNTIME_OVERHEAD_MB = 60
#: What loading the assistant adds to a running daemon beyond its model: the llama.cpp libraries and
#: llama-cpp-python (Python and numpy are the daemon's already), and llama.cpp's vocabulary (token texts, their
#: index, scores) per token. Fitted to two loads beside the daemon's modules: SmolLM2-135M (49 152 tokens, 178 MB
#: measured) and Gemma 3 270M (262 144 tokens, 355 MB); see benchmarks/README.md (issue 16).
LLAMA_RUNTIME_MB = 10
VOCAB_BYTES_PER_TOKEN = 216


@dataclass(frozen=True)
class FitReport:
    """Estimated memory of one model at one context size, against a budget."""

    model: str
    n_ctx: int
    n_batch: int
    weights_mb: float
    kv_mb: float
    compute_mb: float
    overhead_mb: float
    budget_mb: float | None
    touched_compute_mb: float = 0.0
    """Of ``compute_mb``, what a prompt batch writes (see ``beside_daemon_mb``)."""
    vocab_mb: float = 0.0
    """llama.cpp's vocabulary in memory (``VOCAB_BYTES_PER_TOKEN`` per token)."""

    @property
    def total_mb(self) -> float:
        return self.weights_mb + self.kv_mb + self.compute_mb + self.overhead_mb

    @property
    def beside_daemon_mb(self) -> float:
        """The assistant's share of a running daemon's RSS, predicted: the weights and the KV cache (both
        resident from the load on: llama.cpp reads the one and clears the other), the part of the compute buffer a
        prompt batch touches (attention scores and activations; logits only for the one row asked for), the
        vocabulary and llama.cpp's libraries.
        ``total_mb`` is what must fit the budget (every reservation in full, and a process of its own); this is
        what ``ps`` shows the daemon gain (issue 16: within 20 % of the measured share)."""
        return self.weights_mb + self.kv_mb + self.touched_compute_mb + self.vocab_mb + LLAMA_RUNTIME_MB

    @property
    def fits(self) -> bool:
        return self.budget_mb is None or self.total_mb <= self.budget_mb

    def summary(self) -> str:
        budget = "no budget" if self.budget_mb is None else f"budget {self.budget_mb:.0f} MB"
        return (
            f"{self.model}: {self.total_mb:.0f} MB at n_ctx={self.n_ctx} (weights {self.weights_mb:.0f} + KV "
            f"{self.kv_mb:.0f} + compute {self.compute_mb:.0f} + runtime {self.overhead_mb:.0f}), {budget}"
        )


def compute_buffer_bytes(info: GGUFInfo, n_ctx: int, n_batch: int) -> int:
    """llama.cpp's CPU compute buffer for a worst-case prompt batch (f32), with a 10 % margin.

    The graph allocator reuses memory, so the buffer follows the largest intermediate: the n_batch × n_vocab
    logits or the n_batch × n_ctx × n_head attention scores, plus the layer activations. Checked against
    llama.cpp 0.3.36's own report: SmolLM2-135M 49.7 MiB (n_ctx 2048) and 83.2 MiB (8192) vs 58.9 and 85.3
    estimated; Gemma 3 270M 257.3 MiB vs 289.1 at both sizes (n_batch 256).
    """
    logits = n_batch * info.n_vocab
    scores = n_batch * n_ctx * info.n_head
    acts = _activations(info, n_batch)
    return int(4 * (max(logits, scores) + acts) * 1.1)


def touched_compute_bytes(info: GGUFInfo, n_ctx: int, n_batch: int) -> int:
    """Of llama.cpp's compute buffer, what a full prompt batch writes (f32): the n_batch × n_ctx × n_head
    attention scores and the layer activations; the logits are computed for the last token only."""
    acts = _activations(info, n_batch)
    return 4 * (n_batch * n_ctx * info.n_head + acts)


def _activations(info: GGUFInfo, n_batch: int) -> int:
    """Values one layer's activations hold for ``n_batch`` tokens (residual, attention, feed-forward)."""
    return n_batch * (4 * info.n_embd + 2 * info.n_ff)


def estimate_fit(info: GGUFInfo, n_ctx: int, n_batch: int, budget_mb: float | None) -> FitReport:
    """Memory estimate of ``info`` at ``n_ctx``/``n_batch`` against ``budget_mb`` (None: no budget)."""
    return FitReport(
        model=info.path.name,
        n_ctx=n_ctx,
        n_batch=n_batch,
        weights_mb=info.weight_bytes / MIB,
        kv_mb=info.kv_bytes(n_ctx) / MIB,
        compute_mb=compute_buffer_bytes(info, n_ctx, min(n_batch, n_ctx)) / MIB,
        overhead_mb=RUNTIME_OVERHEAD_MB,
        budget_mb=budget_mb,
        touched_compute_mb=touched_compute_bytes(info, n_ctx, min(n_batch, n_ctx)) / MIB,
        vocab_mb=info.n_vocab * VOCAB_BYTES_PER_TOKEN / MIB,
    )


def largest_fitting_ctx(info: GGUFInfo, n_batch: int, budget_mb: float, floor: int = 256) -> int | None:
    """The largest power-of-two context (≥ ``floor``) that fits the budget; None when even that does not."""
    n = floor
    best = None
    while n <= max(info.context_length, floor) and estimate_fit(info, n, n_batch, budget_mb).fits:
        best = n
        n *= 2
    return best


def fitting_settings(info: GGUFInfo, n_batch: int, budget_mb: float, min_ctx: int) -> tuple[int, int] | None:
    """(n_ctx, n_batch) that fit ``budget_mb`` with a context of at least ``min_ctx``: the largest context at
    the given batch, else at a halved batch (down to 32: a smaller batch shrinks llama.cpp's compute buffer)."""
    batch = n_batch
    while batch >= 32:
        ctx = largest_fitting_ctx(info, batch, budget_mb, floor=min_ctx)
        if ctx is not None:
            return ctx, batch
        batch //= 2
    return None


def check_fit(
    info: GGUFInfo,
    n_ctx: int,
    n_batch: int,
    budget_mb: float | None,
    profile: str | None = None,
    min_ctx: int = 256,
) -> FitReport:
    """The fit report, or EdgekitError (one line) when the model cannot run as asked; every suggestion in it
    (``--ctx``/``--batch``, or a budget) is computed to fit, with a context of at least ``min_ctx``."""
    if info.context_length and n_ctx > info.context_length:
        raise EdgekitError(
            f"n_ctx={n_ctx} is longer than {info.path.name} was trained for ({info.context_length}): "
            f"use --ctx {info.context_length} or less"
        )
    report = estimate_fit(info, n_ctx, n_batch, budget_mb)
    if report.fits or budget_mb is None:
        return report
    where = f"profile {profile!r}" if profile else "the LLM budget"
    found = fitting_settings(info, n_batch, budget_mb, min_ctx)
    if found is not None:
        ctx, batch = found
        hint = f"use --ctx {ctx}" + (f" --batch {batch}" if batch != n_batch else "")
    else:
        need = estimate_fit(info, min_ctx, 32, None).total_mb
        hint = (f"even n_ctx={min_ctx} needs ~{need:.0f} MB: raise budgets.llm_mb to {int(need) + 1} or more, "
                "or use a smaller model")
    raise EdgekitError(
        f"{info.path.name} needs ~{report.total_mb:.0f} MB at n_ctx={n_ctx} but {where} allows "
        f"{budget_mb:.0f} MB for the LLM: {hint}"
    )


def predict_decode_tps(
    info: GGUFInfo,
    mem_bandwidth_gbs: float,
    efficiency: float = DEFAULT_BANDWIDTH_EFFICIENCY,
    n_past: int = 0,
) -> float:
    """Predicted generation tokens/s: bandwidth × efficiency / bytes read per token (weights + KV so far)."""
    per_token = info.weight_bytes + info.kv_bytes(n_past)
    return mem_bandwidth_gbs * 1e9 * efficiency / per_token
