"""Assemble the SD-card image from a prepared root without mounting anything: the FAT partition made in a file
(``mkfs.vfat -C``) and filled with ``mcopy``, the root made from the folder (``mkfs.ext4 -d``), the table written by
``sfdisk`` on the image file, the two partitions copied in at their offsets (``dd conv=notrunc``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from edgekit.image.layout import BOOT_LABEL, MIB, ROOT_LABEL, Layout
from edgekit.image.root import run
from edgekit.image.tools import which


def tree_bytes(root: Path) -> int:
    """The bytes of the files under ``root`` (hard links once, symlinks as links, no other file system)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    dev = root.stat().st_dev
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if os.lstat(os.path.join(d, x)).st_dev == dev]
        for name in files:
            st = os.lstat(os.path.join(d, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def fat_image(src: Path, extra: dict[str, str], out: Path, size: int, tmp: Path) -> None:
    """A FAT32 file of ``size`` bytes holding the folder ``src`` and the ``extra`` files (name -> text)."""
    out.unlink(missing_ok=True)
    run([str(which("mkfs.vfat")), "-C", "-F", "32", "-n", BOOT_LABEL, str(out), str(size // 1024)], "mkfs.vfat")
    items = [str(p) for p in sorted(src.iterdir())]
    for name, text in extra.items():
        (tmp / name).write_text(text)
        items.append(str(tmp / name))
    if items:
        run(["mcopy", "-s", "-p", "-m", "-i", str(out), *items, "::"], "mcopy into the FAT partition")


def ext4_image(root: Path, out: Path, size: int) -> None:
    out.unlink(missing_ok=True)
    run([str(which("mkfs.ext4")), "-q", "-F", "-L", ROOT_LABEL, "-d", str(root), str(out),
         f"{size // 1024}k"], "mkfs.ext4 -d")


def disk_image(layout: Layout, boot: Path, rootfs: Path, out: Path) -> None:
    """The image file: the table, then each partition at its offset."""
    with out.open("wb") as f:
        f.truncate(layout.total)
    script = out.with_name(out.name + ".sfdisk")
    script.write_text(layout.sfdisk_script())
    run([str(which("sfdisk")), "--quiet", "--no-reread", "--no-tell-kernel", str(out)], "sfdisk", stdin=script)
    script.unlink()
    for part, start in ((boot, layout.boot_start), (rootfs, layout.root_start)):
        run(["dd", f"if={part}", f"of={out}", "bs=1M", f"seek={start // MIB}", "conv=notrunc,sparse",
             "status=none"], f"dd {part.name} into the image")


def assemble(root: Path, layout: Layout, extra_boot: dict[str, str], out: Path, work: Path) -> None:
    """Write ``out`` from the prepared ``root``: its /boot/firmware becomes the FAT partition (plus ``extra_boot``
    files), the rest the ext4 root (with /boot/firmware left empty: the FAT partition mounts there)."""
    firmware = root / "boot/firmware"
    held = work / "firmware"
    shutil.rmtree(held, ignore_errors=True)
    firmware.rename(held)
    firmware.mkdir(mode=0o755)
    try:
        fat_image(held, extra_boot, work / "boot.vfat", layout.boot_size, work)
        ext4_image(root, work / "root.ext4", layout.root_size)
    finally:
        firmware.rmdir()
        held.rename(firmware)
    disk_image(layout, work / "boot.vfat", work / "root.ext4", out)
    for f in ("boot.vfat", "root.ext4"):
        (work / f).unlink()
