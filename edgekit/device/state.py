"""The machine's state beside every benchmark figure: CPU and its flags, clocks, temperature, throttling, load.

A latency means little without the state it was taken in: a Pi 5 that throttles at 85 °C, a Jetson in its 7 W
mode, a CPU without VNNI or a desktop shared with other work all give other numbers. Each reader returns ``None``
(or leaves a field out) where the machine does not expose it, never a guess.

Examples:
    >>> s = DeviceState.capture()
    >>> s.cores >= 1 and s.load_avg[0] >= 0
    True
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgekit.device.cpu import DOT_PRODUCT_FLAGS, cpu_features

# CPU features that change what INT8 and FP16 cost: x86 VNNI (AVX512-VNNI / AVX-VNNI), AMX; Arm dot product
# (asimddp, Cortex-A76 / Orin's A78AE) and FP16 arithmetic (asimdhp).
FEATURE_FLAGS = (
    "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile",
    "asimd", "asimddp", "asimdhp", "i8mm", "sve",
)
VNNI_FLAGS = frozenset(DOT_PRODUCT_FLAGS)  # the same flags the export reads to choose the weight width


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cpuinfo(root: Path) -> tuple[str, set[str]]:
    found = cpu_features(_read(root / "proc/cpuinfo") or "")
    return found.name or platform.processor() or platform.machine(), set(found.flags)


def cpu_flags(root: Path = Path("/")) -> set[str]:
    """The CPU's feature flags (``/proc/cpuinfo`` ``flags`` on x86, ``Features`` on Arm)."""
    return _cpuinfo(root)[1]


def has_vnni(flags: set[str]) -> bool:
    """True where the CPU has 8-bit dot-product instructions (x86 VNNI, Arm dot product)."""
    return bool(flags & VNNI_FLAGS)


def _khz(root: Path, name: str) -> list[int]:
    out = []
    for p in sorted((root / "sys/devices/system/cpu").glob(f"cpu[0-9]*/cpufreq/{name}")):
        v = _read(p)
        if v and v.isdigit():
            out.append(int(v))
    return out


def temperatures(root: Path = Path("/")) -> dict[str, float]:
    """Every thermal zone's reading in °C, by the zone's type, in zone order (``thermal_zone0`` first)."""
    temps: dict[str, float] = {}
    for zone in sorted((root / "sys/class/thermal").glob("thermal_zone*"), key=lambda z: int(z.name[12:] or 0)):
        kind, value = _read(zone / "type"), _read(zone / "temp")
        if kind and value and value.lstrip("-").isdigit():
            temps.setdefault(kind, round(int(value) / 1000, 1))
    return temps


# Zone types that are the CPU: Raspberry Pi (cpu-thermal), Jetson (CPU-therm, cpu-thermal), x86 (x86_pkg_temp).
_CPU_ZONES = ("cpu-thermal", "cpu_thermal", "cpu-therm", "x86_pkg_temp", "soc_thermal")


def cpu_temperature(root: Path = Path("/")) -> float | None:
    """The CPU's temperature in °C: the zone named for the CPU, else the first zone (on most boards the SoC), else
    None where the machine exposes none.

    Examples:
        >>> cpu_temperature(Path("/nonexistent")) is None
        True
    """
    temps = temperatures(root)
    by_kind = {k.lower(): v for k, v in temps.items()}
    for kind in _CPU_ZONES:
        if kind in by_kind:
            return by_kind[kind]
    return next(iter(temps.values()), None)


def _run(cmd: list[str], timeout: float = 3.0) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


# Raspberry Pi firmware's `vcgencmd get_throttled` bits (documented by Raspberry Pi Ltd).
THROTTLE_BITS = {
    0: "under-voltage now", 1: "arm frequency capped now", 2: "throttled now", 3: "soft temperature limit now",
    16: "under-voltage occurred", 17: "arm frequency capping occurred", 18: "throttling occurred",
    19: "soft temperature limit occurred",
}


def decode_throttled(value: int) -> list[str]:
    """The conditions set in a ``get_throttled`` bit mask.

    Examples:
        >>> decode_throttled(0x50005)
        ['under-voltage now', 'throttled now', 'under-voltage occurred', 'throttling occurred']
    """
    return [text for bit, text in THROTTLE_BITS.items() if value >> bit & 1]


def _pi_throttled() -> dict[str, Any] | None:
    out = _run(["vcgencmd", "get_throttled"])
    m = re.search(r"throttled=(0x[0-9a-fA-F]+)", out or "")
    if not m:
        return None
    value = int(m.group(1), 16)
    return {"raw": m.group(1), "flags": decode_throttled(value)}


def _jetson_power_mode() -> str | None:
    out = _run(["nvpmodel", "-q"])
    m = re.search(r"NV Power Mode:\s*(\S+)", out or "")
    return m.group(1) if m else None


@dataclass(frozen=True)
class DeviceState:
    """One snapshot of the machine (see the module docstring)."""

    cpu_model: str
    arch: str
    cores: int
    flags: list[str]
    vnni: bool
    governor: str | None
    cur_mhz: list[int]
    max_mhz: list[int]
    temperatures_c: dict[str, float]
    load_avg: tuple[float, float, float]
    throttled: dict[str, Any] | None = None
    power_mode: str | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def capture(cls, root: Path = Path("/")) -> DeviceState:
        """Read the state now (``root`` lets tests point at a fake sysfs tree)."""
        model, flags = _cpuinfo(root)
        load = os.getloadavg() if root == Path("/") else (0.0, 0.0, 0.0)
        return cls(
            cpu_model=model,
            arch=platform.machine(),
            cores=os.cpu_count() or 1,
            flags=sorted(flags & set(FEATURE_FLAGS)),
            vnni=has_vnni(flags),
            governor=_read(root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            cur_mhz=[k // 1000 for k in _khz(root, "scaling_cur_freq")],
            max_mhz=[k // 1000 for k in _khz(root, "cpuinfo_max_freq")],
            temperatures_c=temperatures(root),
            load_avg=(round(load[0], 2), round(load[1], 2), round(load[2], 2)),
            throttled=_pi_throttled(),
            power_mode=_jetson_power_mode(),
        )

    @property
    def busy(self) -> bool:
        """True when the 1-minute load average is above the core count: figures taken now are suspect."""
        return self.load_avg[0] > self.cores

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "busy": self.busy}


def bracket(before: DeviceState, after: DeviceState) -> dict[str, Any]:
    """The JSON block every benchmark carries: the state before and after, and whether load spoiled it."""
    busy = before.busy or after.busy
    return {
        "before": before.to_dict(),
        "after": after.to_dict(),
        "busy": busy,
        "note": "load average above the core count during the run: figures are marked as taken on a busy machine"
        if busy
        else "load average below the core count",
    }
