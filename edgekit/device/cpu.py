"""What a CPU can do for INT8: 8-bit dot-product instructions, read from ``/proc/cpuinfo`` text.

x86 VNNI (``avx512_vnni``, ``avx_vnni``) and Arm's dot product (``asimddp``: Cortex-A76, A78AE, Neoverse) multiply
u8×s8 and accumulate in 32 bits. x86 CPUs without VNNI (AVX2, AVX-512F only) add pairs of products into a saturating
int16 first (``vpmaddubsw``), which is why ONNX Runtime quantizes weights to 7 bits (``reduce_range``) for them.

Examples:
    >>> cpu_features("processor : 0\\nFeatures : fp asimd evtstrm crc32 cpuid\\n").dot_product
    False
    >>> cpu_features("flags : fpu sse avx2 avx512f avx512_vnni\\n").dot_flags
    ['avx512_vnni']
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

DOT_PRODUCT_FLAGS = ("avx512_vnni", "avx_vnni", "asimddp")
"""cpuinfo flags of 8-bit dot-product instructions with 32-bit accumulation (x86 VNNI, Arm dot product)."""


@dataclass(frozen=True, slots=True)
class CpuFeatures:
    """A CPU's name and feature flags, as ``/proc/cpuinfo`` gives them."""

    name: str
    flags: frozenset[str]

    @property
    def dot_flags(self) -> list[str]:
        """The dot-product flags present (sorted; empty when there is none)."""
        return sorted(self.flags & set(DOT_PRODUCT_FLAGS))

    @property
    def dot_product(self) -> bool:
        return bool(self.dot_flags)


def cpu_features(text: str) -> CpuFeatures:
    """Name and flags of the first processor in ``/proc/cpuinfo`` text (x86 ``flags``, Arm ``Features``)."""
    name = ""
    flags: frozenset[str] = frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and not name:
            name = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = frozenset(value.split())
    return CpuFeatures(name, flags)


def host_cpu(root: Path = Path("/")) -> CpuFeatures:
    """This machine's CPU (empty flags where ``/proc/cpuinfo`` cannot be read, e.g. macOS)."""
    try:
        text = (root / "proc/cpuinfo").read_text()
    except OSError:
        text = ""
    f = cpu_features(text)
    return f if f.name else CpuFeatures(platform.processor() or platform.machine(), f.flags)
