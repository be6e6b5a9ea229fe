"""8-bit or 7-bit INT8 weights: the target's CPU decides, and the gate's host must be able to judge 8-bit."""

from __future__ import annotations

import pytest

from edgekit.device.cpu import cpu_features
from edgekit.export.weights import choose
from tests.device.test_cpu import CPUINFO

VNNI = cpu_features((CPUINFO / "xeon-avx512-vnni-amx.txt").read_text())
AVX2 = cpu_features((CPUINFO / "xeon-haswell-avx2.txt").read_text())
PI5 = cpu_features((CPUINFO / "rpi5-cortex-a76.txt").read_text())
PI4 = cpu_features((CPUINFO / "rpi4-cortex-a72.txt").read_text())


@pytest.mark.parametrize(
    ("host", "target_dot", "bits", "says"),
    [
        (VNNI, None, 8, "avx512_vnni/avx_vnni"),  # exporting for this machine itself
        (AVX2, None, 7, "no 8-bit dot-product"),
        (PI5, None, 8, "asimddp"),  # exporting on the Pi 5, for the Pi 5
        (PI4, None, 7, "no 8-bit dot-product"),
        (VNNI, True, 8, "rpi5"),  # for a dot-product board, judged faithfully here
        (VNNI, False, 7, "no 8-bit dot-product"),  # for the Pi 4: its CPU decides, not this one
        (AVX2, True, 7, "could not be judged"),  # the gate here would saturate an 8-bit model
    ],
)
def test_weight_width_follows_the_target_cpu(host, target_dot, bits, says) -> None:  # type: ignore[no-untyped-def]
    target = None if target_dot is None else f"rpi{5 if target_dot else 4}"
    c = choose(host, target_dot=target_dot, target_cpu=target)
    assert (c.bits, c.reduce_range) == (bits, bits == 7)
    assert says in c.why


def test_gpu_target_and_forced_width() -> None:
    assert choose(VNNI, gpu=True, target_cpu="jetson-orin-nano").bits == 8
    assert choose(AVX2, gpu=True).bits == 7  # the QDQ model is still judged by ONNX Runtime here
    forced = choose(VNNI, target_dot=True, forced=True)
    assert forced.bits == 7 and "--int8-weights" in forced.why
