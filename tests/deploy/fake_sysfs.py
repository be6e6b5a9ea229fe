"""A stand-in for a Raspberry Pi 5's CPU sysfs inside the arm64 root, for the runtimes that read it at start.

qemu-user has no sysfs of its own and the host's must not be mounted (ONNX Runtime segfaults on an x86 host's
/sys under qemu). OpenVINO's ARM CPU plugin then crashes: its JIT reads the CPU model from
``cpu*/regs/identification/midr_el1`` and its thread pool (hwloc) the topology. So these few files, as a Pi 5 has
them (four Cortex-A76 r4p1 cores, one cluster), are written into the root's empty ``/sys`` for the run and removed
after. The instruction set the runtimes use comes from the auxiliary vector (HWCAP), which qemu fills in from its
CPU model: run it as ``QEMU_CPU=cortex-a76`` so both describe a Pi 5.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

CORES = 4
MIDR_CORTEX_A76_R4P1 = "0x00000000414fd0b1"


def _files() -> dict[str, str]:
    files = {"possible": "0-3", "present": "0-3", "online": "0-3", "kernel_max": "3"}
    for i in range(CORES):
        cpu = f"cpu{i}"
        files[f"{cpu}/regs/identification/midr_el1"] = MIDR_CORTEX_A76_R4P1
        files[f"{cpu}/regs/identification/revidr_el1"] = "0x0000000000000000"
        topology = {"core_id": str(i), "physical_package_id": "0", "cluster_id": "0", "core_siblings_list": "0-3",
                    "thread_siblings_list": str(i), "core_cpus_list": str(i), "package_cpus_list": "0-3",
                    "cluster_cpus_list": "0-3", "core_siblings": "f", "thread_siblings": format(1 << i, "x"),
                    "core_cpus": format(1 << i, "x"), "package_cpus": "f", "cluster_cpus": "f"}
        files.update({f"{cpu}/topology/{k}": v for k, v in topology.items()})
        files[f"{cpu}/cpufreq/cpuinfo_max_freq"] = "2400000"
        files[f"{cpu}/cpufreq/cpuinfo_min_freq"] = "1500000"
        if i:
            files[f"{cpu}/online"] = "1"
    return files


@contextlib.contextmanager
def pi5_cpu_sysfs(root: Path) -> Iterator[None]:
    """The Pi 5's CPU sysfs files in ``root``'s ``/sys`` (which must be an unmounted, empty folder) while inside."""
    sys_dir = root / "sys"
    if any(sys_dir.iterdir()):
        raise RuntimeError(f"{sys_dir} is not empty (a mount, or a run that did not clean up)")
    try:
        for rel, text in _files().items():
            p = sys_dir / "devices/system/cpu" / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text + "\n")
        yield
    finally:
        for p in sys_dir.iterdir():
            shutil.rmtree(p)
