"""The host tools ``edgekit image`` runs, and the one apt line that installs whichever are missing."""

from __future__ import annotations

import shutil
from pathlib import Path

from edgekit.errors import MissingDependencyError

# command -> the Debian package that has it
TOOLS = {
    "mmdebstrap": "mmdebstrap",          # the base root, from Debian's packages
    "qemu-aarch64-static": "qemu-user-static",  # the root's arm64 programs (dpkg, python) on this host
    "mkfs.ext4": "e2fsprogs",            # the root partition from a folder (-d), no loop mount
    "mkfs.vfat": "dosfstools",           # the FAT boot partition in a file (-C)
    "mcopy": "mtools",                   # files into that FAT file, no mount
    "sfdisk": "fdisk",                   # the partition table, on the image file
}
BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
SBIN = ("/usr/sbin", "/sbin")


def which(tool: str) -> str | None:
    """``tool`` on PATH or in /usr/sbin (a normal user's PATH may lack sbin, where mkfs and sfdisk live)."""
    return shutil.which(tool) or next((str(Path(d) / tool) for d in SBIN if (Path(d) / tool).is_file()), None)


def check_tools() -> None:
    """Every tool present and arm64 binaries runnable; else one line with the apt command to run."""
    missing = sorted({pkg for tool, pkg in TOOLS.items() if which(tool) is None})
    if missing:
        raise MissingDependencyError(", ".join(t for t, p in TOOLS.items() if p in missing),
                                     f"sudo apt-get install -y {' '.join(missing)} binfmt-support")
    if not BINFMT.exists():
        raise MissingDependencyError("running arm64 programs (binfmt_misc qemu-aarch64)",
                                     "sudo apt-get install -y binfmt-support qemu-user-static "
                                     "&& sudo update-binfmts --enable qemu-aarch64")
