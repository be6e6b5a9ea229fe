#!/usr/bin/env bash
# A Debian 12 x86-64 "board in a box" for the VM tests: a root with systemd as PID 1, sshd, udev, Python and the
# kernel's `vivid` V4L2 test driver, booted by qemu-system-x86_64 (TCG: KVM guests hang on this kind of machine).
#
# - mmdebstrap builds the root once and caches it in $EDGEKIT_VM_CACHE (default /var/cache/edgekit-ci), keyed by a
#   hash of this recipe: the kernel, the initrd and a 3 GiB ext4 image made from the root (mkfs.ext4 -d, no loop
#   mount). Tests boot a copy-on-write overlay of it, so the cached image stays as built.
# - SSH: the guest's host key is kept beside the image (host_key.pub); a key pair made here (vm_key) is authorised for root and for the `edgekit` user (passwordless sudo, so the
#   `systemd` deploy manager's `sudo -n` works). The guest reaches the host's loopback services at 10.0.2.2.
#
# Prints the cache folder on its last line. Usage: scripts/install_vm.sh
set -euo pipefail
PKGS="systemd-sysv,udev,kmod,linux-image-amd64,openssh-server,iproute2,ifupdown,isc-dhcp-client,python3,python3-venv"
PKGS="$PKGS,v4l-utils,sudo,ca-certificates,dbus,libpam-systemd,mosquitto"
SUITE=bookworm
CACHE=${EDGEKIT_VM_CACHE:-/var/cache/edgekit-ci}
KEY=$(printf '%s|%s|v2' "$PKGS" "$SUITE" | sha256sum | cut -c1-12)
OUT=$CACHE/vm-x86_64-$KEY

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=""
command -v mmdebstrap >/dev/null || need="$need mmdebstrap"
command -v qemu-system-x86_64 >/dev/null || need="$need qemu-system-x86"
command -v qemu-img >/dev/null || need="$need qemu-utils"
command -v mkfs.ext4 >/dev/null || need="$need e2fsprogs"
command -v ssh-keygen >/dev/null || need="$need openssh-client"
if [ -n "$need" ]; then
    $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
        $need >/dev/null
fi

if [ ! -f "$OUT/.complete" ]; then
    $SUDO mkdir -p "$CACHE"
    $SUDO rm -rf --one-file-system "$OUT.tmp"
    $SUDO mkdir -p "$OUT.tmp"
    $SUDO ssh-keygen -q -t ed25519 -N "" -C edgekit-vm-tests -f "$OUT.tmp/vm_key"
    pub=$(cat "$OUT.tmp/vm_key.pub")
    root=$OUT.tmp/root
    # The customize hooks run on the host with the root as $1: the guest's network (eth0: the VM boots with
    # net.ifnames=0, so the name does not depend on the PCI slot qemu gives the NIC), the camera driver at boot, and
    # the users the tests log in as.
    $SUDO mmdebstrap --quiet --variant=minbase --include="$PKGS" \
        --customize-hook='echo edgekit-vm > "$1/etc/hostname"' \
        --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 edgekit-vm\n" > "$1/etc/hosts"' \
        --customize-hook='printf "auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet dhcp\n" > "$1/etc/network/interfaces"' \
        --customize-hook='echo vivid > "$1/etc/modules-load.d/vivid.conf"' \
        --customize-hook='printf "/dev/vda / ext4 rw,relatime 0 1\n" > "$1/etc/fstab"' \
        --customize-hook='chroot "$1" useradd -m -s /bin/bash -G video,sudo edgekit' \
        --customize-hook='echo "edgekit ALL=(ALL) NOPASSWD:ALL" > "$1/etc/sudoers.d/edgekit"' \
        --customize-hook='chroot "$1" passwd -d root >/dev/null' \
        --customize-hook='chroot "$1" usermod -p "*" edgekit' \
        --customize-hook="for h in \"\$1/root\" \"\$1/home/edgekit\"; do mkdir -p -m 700 \"\$h/.ssh\"; echo '$pub' > \"\$h/.ssh/authorized_keys\"; chmod 600 \"\$h/.ssh/authorized_keys\"; done" \
        --customize-hook='chroot "$1" chown -R edgekit:edgekit /home/edgekit/.ssh' \
        --customize-hook='printf "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n" > "$1/etc/ssh/sshd_config.d/edgekit-vm.conf"' \
        "$SUITE" "$root" >&2
    # The guest's host key, so the tests check it like any other board's (host-key checking is never turned off).
    $SUDO cp "$root/etc/ssh/ssh_host_ed25519_key.pub" "$OUT.tmp/host_key.pub"
    $SUDO cp "$root"/boot/vmlinuz-* "$OUT.tmp/vmlinuz"
    $SUDO cp "$root"/boot/initrd.img-* "$OUT.tmp/initrd.img"
    $SUDO truncate -s 3G "$OUT.tmp/root.img"
    $SUDO mkfs.ext4 -q -F -L edgekit-vm -d "$root" "$OUT.tmp/root.img"
    $SUDO rm -rf --one-file-system "$root"
    $SUDO touch "$OUT.tmp/.complete"
    $SUDO rm -rf --one-file-system "$OUT"
    $SUDO mv "$OUT.tmp" "$OUT"
fi
echo "$OUT"
