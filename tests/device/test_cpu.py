"""Dot-product detection from real /proc/cpuinfo text, and the profiles' ``board.dot_product`` agreeing with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.device.cpu import cpu_features, host_cpu
from edgekit.device.profiles import load_profile

CPUINFO = Path(__file__).parent / "cpuinfo"

SAMPLES = [
    ("xeon-avx512-vnni-amx.txt", "Intel(R) Xeon(R) Processor", ["avx512_vnni", "avx_vnni"]),
    ("xeon-haswell-avx2.txt", "Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz", []),
    ("rpi5-cortex-a76.txt", "", ["asimddp"]),
    ("orin-cortex-a78ae.txt", "", ["asimddp"]),
    ("rpi4-cortex-a72.txt", "BCM2835", []),
    ("jetson-nano-cortex-a57.txt", "", []),
]


@pytest.mark.parametrize(("sample", "name", "dot"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_dot_product_flags_from_real_cpuinfo(sample: str, name: str, dot: list[str]) -> None:
    cpu = cpu_features((CPUINFO / sample).read_text())
    assert cpu.name == name
    assert cpu.dot_flags == dot and cpu.dot_product == bool(dot)
    assert "avx2" in cpu.flags or "asimd" in cpu.flags  # the flags line itself was read, not just missed


@pytest.mark.parametrize(
    ("profile", "sample"),
    [
        ("rpi5", "rpi5-cortex-a76.txt"),
        ("coral-usb", "rpi5-cortex-a76.txt"),
        ("rpi4", "rpi4-cortex-a72.txt"),
        ("jetson-orin-nano", "orin-cortex-a78ae.txt"),
        ("jetson-nano", "jetson-nano-cortex-a57.txt"),
    ],
)
def test_profile_dot_product_matches_its_boards_cpuinfo(profile: str, sample: str) -> None:
    assert load_profile(profile).board.dot_product is cpu_features((CPUINFO / sample).read_text()).dot_product


def test_host_cpu_reads_proc_cpuinfo_under_a_root(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cpuinfo").write_text((CPUINFO / "rpi4-cortex-a72.txt").read_text())
    assert not host_cpu(tmp_path).dot_product and "crc32" in host_cpu(tmp_path).flags
    assert host_cpu(tmp_path / "nowhere").flags == frozenset()  # no /proc/cpuinfo (macOS): no flags, no crash
