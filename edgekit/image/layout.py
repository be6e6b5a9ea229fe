"""The SD card's partition layout: an MBR table with a FAT boot partition (the Pi's firmware reads only FAT on
an MBR disk) and an ext4 root, and the arithmetic that says whether a target is big enough.

Debian's raspi images (image-specs) put the FAT partition at 4 MiB; it holds the firmware, the kernel, initrds
and device trees of two kernel versions during an upgrade, so it gets 508 MiB and the root starts at 512 MiB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgekit.errors import EdgekitError

SECTOR = 512
MIB = 1 << 20
BOOT_START = 4 * MIB
ROOT_START = 512 * MIB
ROOT_SLACK = 1.25  # ext4 metadata, the journal and room for the first days' logs, events and a second release
ROOT_EXTRA = 512 * MIB
BOOT_LABEL, ROOT_LABEL = "RASPIFIRM", "RASPIROOT"  # the labels Debian's raspi images use (fstab, cmdline.txt)


@dataclass(frozen=True)
class Layout:
    """Byte offsets and sizes of the two partitions in an image of ``total`` bytes."""

    total: int
    boot_start: int = BOOT_START
    root_start: int = ROOT_START

    @property
    def boot_size(self) -> int:
        return self.root_start - self.boot_start

    @property
    def root_size(self) -> int:
        return self.total - self.root_start

    def sfdisk_script(self) -> str:
        """The table for ``sfdisk IMAGE``: FAT32 LBA (type c, bootable) then Linux (83), in sectors."""
        return (f"label: dos\nunit: sectors\n"
                f"start={self.boot_start // SECTOR}, size={self.boot_size // SECTOR}, type=c, bootable\n"
                f"start={self.root_start // SECTOR}, size={self.root_size // SECTOR}, type=83\n")


def root_needed(content_bytes: int) -> int:
    """The ext4 size a root holding ``content_bytes`` needs, rounded up to whole MiB."""
    need = int(content_bytes * ROOT_SLACK) + ROOT_EXTRA
    return -(-need // MIB) * MIB


def plan(total: int | None, content_bytes: int, target: str = "--size") -> Layout:
    """The layout for ``total`` bytes (None: the smallest that fits); too small is one line naming the least size.

    >>> plan(None, 1000 * MIB).total // MIB
    2274
    >>> plan(4 << 30, 1000 * MIB).root_size // MIB
    3584
    """
    least = ROOT_START + root_needed(content_bytes)
    if total is None:
        return Layout(total=least)
    if total < least:
        files = f" ({human(content_bytes)} of root files)" if content_bytes else ""
        raise EdgekitError(f"{target} is too small: {human(total)}, the image needs at least {human(least)}{files}")
    return Layout(total=total // MIB * MIB)


def human(n: int) -> str:
    """``1536 MiB`` / ``3.5 GiB``."""
    return f"{n / (1 << 30):.1f} GiB" if n >= 4 << 30 else f"{n // MIB} MiB"


def parse_size(text: str) -> int:
    """``4G``, ``3500M``, ``4GiB``, ``8GB`` (binary multiples either way, as dd and truncate read them).

    >>> parse_size("4G"), parse_size("512MiB")
    (4294967296, 536870912)
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not m:
        raise EdgekitError(f"--size {text!r}: give a size like 4G or 3500M")
    return int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " "))
