"""Full 8-bit or 7-bit INT8 weights, from the CPU the model is for and the CPU the gate judges it on.

ONNX Runtime's u8×s8 kernels on x86 without VNNI add two products into a saturating int16 (``vpmaddubsw``); 7-bit
weights (``reduce_range``) keep that sum in range, at the cost of half the weight resolution. CPUs with 8-bit dot
product (x86 AVX512-VNNI / AVX-VNNI, Arm ``asimddp`` on Cortex-A76 / A78AE) accumulate in 32 bits, so full 8-bit
weights cannot overflow there (on this project's VNNI machine they ran no faster than 7-bit: benchmarks/README.md).

The gate runs the model on the exporting machine: an 8-bit model for a dot-product board exported on a CPU without
one would be judged with saturated sums, not as the board runs it, so that case gets 7-bit weights, and says why.
8-bit is a preference, not forced past the gate: ``gate.gate_int8_onnx`` retries with 7-bit weights when no 8-bit
attempt passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.device.cpu import CpuFeatures


@dataclass(frozen=True, slots=True)
class WeightChoice:
    """``reduce_range`` for ONNX Runtime's quantizer, and the reason the report gives."""

    reduce_range: bool
    cpu: str
    why: str

    @property
    def bits(self) -> int:
        return 7 if self.reduce_range else 8


def _flags(cpu: CpuFeatures) -> str:
    return "/".join(cpu.dot_flags) or "no VNNI / asimddp"


def choose(
    host: CpuFeatures,
    target_dot: bool | None = None,
    target_cpu: str | None = None,
    gpu: bool = False,
    forced: bool | None = None,
) -> WeightChoice:
    """The INT8 weight width for a model that runs on ``target_cpu`` (dot product: ``target_dot``; ``None``: the
    target is this ``host``), or on a GPU (``gpu``: TensorRT accumulates in 32 bits), gated on ``host``.

    Examples:
        >>> from edgekit.device.cpu import cpu_features
        >>> avx2 = cpu_features("model name : Intel Core i7-4770\\nflags : sse4_2 avx avx2 fma\\n")
        >>> choose(avx2).bits, choose(avx2, target_dot=False, target_cpu="rpi4").bits
        (7, 7)
        >>> choose(cpu_features("flags : avx2 avx512f avx512_vnni\\n"), target_dot=True, target_cpu="rpi5").bits
        8
    """
    here = f"this machine's CPU ({host.name or 'unknown'}, {_flags(host)})"
    if forced is not None:
        return WeightChoice(forced, target_cpu or here, f"{8 - int(forced)}-bit weights asked for (--int8-weights)")
    if gpu:
        where, has_dot = f"{target_cpu or 'the GPU'} (TensorRT, 32-bit INT8 accumulation)", True
    elif target_dot is None:
        where, has_dot = here, host.dot_product
    else:
        where, has_dot = target_cpu or "the target's CPU", target_dot
    if not has_dot:
        return WeightChoice(
            True,
            where,
            f"7-bit weights: {where} has no 8-bit dot-product instructions (x86 VNNI / Arm asimddp); without them "
            "x86 kernels add u8×s8 pairs into a saturating int16, and 7-bit weights cannot saturate on any CPU",
        )
    if not host.dot_product:
        return WeightChoice(
            True,
            where,
            f"7-bit weights: {where} could run full 8-bit weights, but the gate runs the model on {here}, where "
            "u8×s8 pairs add into a saturating int16, so an 8-bit model could not be judged as it would run; export "
            "on a CPU with VNNI / asimddp (or on the board) for 8-bit weights",
        )
    judged = "" if target_dot is None and not gpu else f"; gated on {here}"
    return WeightChoice(
        False,
        where,
        f"full 8-bit weights: {where} has 8-bit dot product (VNNI / asimddp), which multiplies u8×s8 with 32-bit "
        f"accumulation, so 8-bit weights cannot saturate{judged}",
    )
