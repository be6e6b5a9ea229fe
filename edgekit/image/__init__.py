"""``edgekit image``: a flashable Raspberry Pi SD-card image (Debian 12 arm64, the bundle installed, first-boot
settings on the FAT partition)."""
