"""DeviceState reads a real sysfs/procfs layout (a fake root for the board-only files) and this machine."""

from __future__ import annotations

from pathlib import Path

from edgekit.device.state import DeviceState, bracket, decode_throttled, has_vnni


def _board(root: Path, flags: str, governor: str = "ondemand") -> Path:
    (root / "proc").mkdir(parents=True)
    (root / "proc/cpuinfo").write_text(
        "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: " + flags + "\nCPU part\t: 0xd0b\n\n"
        "Hardware\t: BCM2835\nModel\t: Raspberry Pi 5 Model B Rev 1.0\n"
    )
    for cpu in range(4):
        d = root / f"sys/devices/system/cpu/cpu{cpu}/cpufreq"
        d.mkdir(parents=True)
        (d / "scaling_governor").write_text(governor + "\n")
        (d / "scaling_cur_freq").write_text("1500000\n")
        (d / "cpuinfo_max_freq").write_text("2400000\n")
    z = root / "sys/class/thermal/thermal_zone0"
    z.mkdir(parents=True)
    (z / "type").write_text("cpu-thermal\n")
    (z / "temp").write_text("61250\n")
    return root


def test_arm_board_with_dot_product(tmp_path: Path) -> None:
    s = DeviceState.capture(_board(tmp_path, "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp asimddp"))
    assert s.cpu_model == "BCM2835"
    assert s.vnni and {"asimd", "asimddp", "asimdhp"} <= set(s.flags)
    assert s.governor == "ondemand" and s.cur_mhz == [1500] * 4 and s.max_mhz == [2400] * 4
    assert s.temperatures_c == {"cpu-thermal": 61.2}


def test_arm_board_without_dot_product_is_not_vnni(tmp_path: Path) -> None:
    s = DeviceState.capture(_board(tmp_path, "fp asimd evtstrm crc32 cpuid"))  # Cortex-A72 (Pi 4)
    assert not s.vnni and "asimddp" not in s.flags


def test_this_machine_and_the_bracket() -> None:
    before, after = DeviceState.capture(), DeviceState.capture()
    assert before.cores >= 1 and before.cpu_model
    assert has_vnni(set(before.flags)) == before.vnni
    block = bracket(before, after)
    assert block["busy"] == (before.load_avg[0] > before.cores or after.load_avg[0] > after.cores)
    assert block["before"]["load_avg"] == list(before.load_avg) or block["before"]["load_avg"] == before.load_avg


def test_throttled_bits() -> None:
    assert decode_throttled(0) == []
    assert decode_throttled(0x20002) == ["arm frequency capped now", "arm frequency capping occurred"]
