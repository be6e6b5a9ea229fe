#!/usr/bin/env bash
# A Debian 12 arm64 root (Raspberry Pi OS Bookworm's base) for the arm64 tests, run under qemu-user.
#
# - Debian's qemu-user-static + binfmt-support run aarch64 binaries; binfmt_misc is mounted if it is not.
# - mmdebstrap builds the root once and caches it in $EDGEKIT_ARM64_CACHE (default /var/cache/edgekit-ci), keyed by
#   a hash of this recipe: a later CI run on the same machine reuses it (≈ 0 s instead of ≈ 3 min).
# - The root carries Debian's python3-numpy and python3-opencv too, so one root serves both variants: a plain venv
#   (PyPI aarch64 wheels) and a venv over the system packages (the Raspberry Pi OS / JetPack situation).
# - openssh-server on the host is for the deploy tests' loopback "boards".
#
# Prints the root's path on its last line. Usage: scripts/install_arm64.sh
set -euo pipefail
PKGS="python3,python3-venv,python3-pip,ca-certificates,python3-numpy,python3-opencv"
SUITE=bookworm
CACHE=${EDGEKIT_ARM64_CACHE:-/var/cache/edgekit-ci}
KEY=$(printf '%s|%s|v1' "$PKGS" "$SUITE" | sha256sum | cut -c1-12)
ROOT=$CACHE/arm64-root-$KEY

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=""
command -v mmdebstrap >/dev/null || need="$need mmdebstrap"
[ -x /usr/bin/qemu-aarch64-static ] || need="$need qemu-user-static"
command -v update-binfmts >/dev/null || need="$need binfmt-support"
[ -x /usr/sbin/sshd ] || need="$need openssh-server"
if [ -n "$need" ]; then
    $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq $need >/dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || $SUDO update-binfmts --enable qemu-aarch64

if [ ! -f "$ROOT/.complete" ]; then
    $SUDO mkdir -p "$CACHE"
    # A run killed half-way may have left /proc mounted in a root about to be deleted: never rm -rf through it.
    for d in "$ROOT" "$ROOT.tmp"; do
        for m in proc sys dev; do
            if mountpoint -q "$d/$m"; then $SUDO umount -l "$d/$m"; fi
        done
    done
    $SUDO rm -rf --one-file-system "$ROOT.tmp"
    $SUDO mmdebstrap --quiet --arch=arm64 --variant=minbase --include="$PKGS" "$SUITE" "$ROOT.tmp" >&2
    # pip inside the root verifies PyPI with the host's CA bundle (the root's own is the same Debian one, but
    # copied here so a root built on another host still matches this one).
    $SUDO cp /etc/ssl/certs/ca-certificates.crt "$ROOT.tmp/etc/ssl/certs/ca-certificates.crt"
    $SUDO touch "$ROOT.tmp/.complete"
    $SUDO rm -rf --one-file-system "$ROOT"
    $SUDO mv "$ROOT.tmp" "$ROOT"
fi
echo "$ROOT"
