#!/usr/bin/env bash
# The host tools `edgekit image` and its tests run: mmdebstrap (the base root), qemu-user-static + binfmt-support
# (the root's arm64 programs), e2fsprogs, dosfstools, mtools, fdisk (the partitions, without loop mounts) and
# qemu-system-arm (the heavy test boots the image under qemu-system-aarch64).
#
# The base root itself is not built here: `edgekit image` builds it at its first run (40-80 min under qemu-user on
# 2 busy cores) and caches it in $EDGEKIT_IMAGE_CACHE (CI: /var/cache/edgekit-ci), keyed by a hash of its recipe
# (edgekit/image/base.py). Only the heavy image test needs it. Usage: scripts/install_image.sh
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=""
command -v mmdebstrap >/dev/null || need="$need mmdebstrap"
[ -x /usr/bin/qemu-aarch64-static ] || need="$need qemu-user-static"
command -v update-binfmts >/dev/null || need="$need binfmt-support"
[ -x /usr/sbin/mkfs.ext4 ] || [ -x /sbin/mkfs.ext4 ] || need="$need e2fsprogs"
[ -x /usr/sbin/mkfs.vfat ] || [ -x /sbin/mkfs.vfat ] || need="$need dosfstools"
command -v mcopy >/dev/null || need="$need mtools"
[ -x /usr/sbin/sfdisk ] || [ -x /sbin/sfdisk ] || need="$need fdisk"
command -v qemu-system-aarch64 >/dev/null || need="$need qemu-system-arm"
if [ -n "$need" ]; then
    $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
        $need >/dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || $SUDO update-binfmts --enable qemu-aarch64
