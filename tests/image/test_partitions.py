"""The image's layout and assembly without a base root: the partition arithmetic, and a real image assembled
from a tiny tree with the real tools (mkfs.vfat, mcopy, mkfs.ext4 -d, sfdisk, dd), read back with them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edgekit.errors import EdgekitError
from edgekit.image.assemble import assemble
from edgekit.image.layout import MIB, ROOT_START, parse_size, plan
from edgekit.image.tools import which


def test_layout_fits_the_root_and_refuses_a_small_size() -> None:
    lay = plan(4 << 30, 1500 * MIB)
    assert lay.boot_start == 4 * MIB and lay.root_start == ROOT_START and lay.root_size == (4 << 30) - ROOT_START
    assert "start=8192, size=1040384, type=c, bootable" in lay.sfdisk_script()
    with pytest.raises(EdgekitError, match=r"^--size is too small: 2048 MiB, the image needs at least 2899 MiB "
                                           r"\(1500 MiB of root files\)$"):
        plan(parse_size("2G"), 1500 * MIB)
    with pytest.raises(EdgekitError, match="give a size like 4G"):
        parse_size("four gigs")


@pytest.mark.skipif(any(which(t) is None for t in ("mkfs.vfat", "mcopy", "mkfs.ext4", "sfdisk")),
                    reason="dosfstools, mtools, e2fsprogs, fdisk (scripts/install_image.sh)")
def test_assembled_image_has_the_table_and_both_file_systems(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/config.txt").write_text("arm_64bit=1\n")
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("edgekit\n")
    lay = plan(None, 1 * MIB)
    out = tmp_path / "disk.img"
    assemble(root, lay, {"edgekit-settings.yaml": "hostname: edgekit\n"}, out, tmp_path)
    assert out.stat().st_size == lay.total
    dump = subprocess.run([str(which("sfdisk")), "--dump", str(out)], capture_output=True, text=True,
                          check=True).stdout
    assert "start=        8192, size=     1040384, type=c, bootable" in dump
    assert f"start=     {ROOT_START // 512}" in dump
    fat = f"{out}@@{lay.boot_start}"
    listing = subprocess.run(["mdir", "-b", "-i", fat, "::"], capture_output=True, text=True, check=True).stdout
    assert "::/config.txt" in listing and "::/edgekit-settings.yaml" in listing
    label = subprocess.run(["minfo", "-i", fat, "::"], capture_output=True, text=True, check=True).stdout
    assert "RASPIFIRM" in label
    # the ext4 root: its label, its files, and /boot/firmware left empty as the FAT partition's mount point
    ext4 = tmp_path / "root.ext4"
    subprocess.run(["dd", f"if={out}", f"of={ext4}", "bs=1M", f"skip={ROOT_START // MIB}", "status=none"],
                   check=True)
    assert subprocess.run(["e2label", str(ext4)], capture_output=True, text=True).stdout.strip() == "RASPIROOT"
    cat = subprocess.run(["debugfs", "-R", "cat /etc/hostname", str(ext4)], capture_output=True, text=True)
    assert cat.stdout == "edgekit\n"
    ls = subprocess.run(["debugfs", "-R", "ls -l /boot/firmware", str(ext4)], capture_output=True, text=True)
    assert "config.txt" not in ls.stdout
    assert (root / "boot/firmware/config.txt").is_file()  # the prepared root is left as it was


def test_a_card_smaller_than_the_image_is_refused() -> None:
    from edgekit.image.build import check_size, target_size

    lay = plan(None, 1000 * MIB)
    with pytest.raises(EdgekitError, match=r"^/dev/sdz is too small: 1024 MiB, the image needs 2274 MiB$"):
        check_size(lay, 1024 * MIB, Path("/dev/sdz"))
    check_size(lay, 8 << 30, Path("/dev/sdz"))  # a big enough card
    assert target_size(Path("/nonexistent.img")) is None  # a file is made to fit
