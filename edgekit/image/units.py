"""The files the image adds to the base root: mounts, network, SSH, the first-boot units, the kernel command line.

Networking is systemd-networkd (DHCP on every ``e*`` interface: the Pi's ``end0``/``eth0`` and qemu virt's
``enp0s1`` alike; wlan0 once the settings give Wi-Fi) with systemd-resolved, as in Debian's raspi images.
"""

from __future__ import annotations

from edgekit.image.firstboot import BASE, USER
from edgekit.image.layout import BOOT_LABEL, ROOT_LABEL
from edgekit.image.settings import FILENAME

SETTINGS = f"/boot/firmware/{FILENAME}"
# Debian's raspi images' command line; root by label, so the same image boots from SD, USB or a VM's disk
CMDLINE = f"console=tty0 console=ttyS1,115200 root=LABEL={ROOT_LABEL} rw fsck.repair=yes net.ifnames=0 cma=64M " \
          "rootwait\n"

FILES: dict[str, str] = {
    "etc/hostname": "edgekit\n",
    "etc/hosts": "127.0.0.1\tlocalhost\n127.0.1.1\tedgekit\n::1\tlocalhost ip6-localhost\n",
    "etc/fstab": f"LABEL={ROOT_LABEL} / ext4 rw,relatime,errors=remount-ro 0 1\n"
                 f"LABEL={BOOT_LABEL} /boot/firmware vfat rw,umask=0077 0 2\n",
    # raspi-firmware's kernel hook writes cmdline.txt from this at every kernel upgrade
    "etc/default/raspi-firmware": f"ROOTPART=LABEL={ROOT_LABEL}\nCONSOLES=\"tty0 ttyS1,115200\"\n",
    # MulticastDNS: resolved answers for <hostname>.local, so `ssh edgekit@porch.local` finds a fresh board
    "etc/systemd/network/10-wired.network": "[Match]\nName=e*\n\n[Network]\nDHCP=yes\nMulticastDNS=yes\n",
    "etc/systemd/network/20-wlan0.network": "[Match]\nName=wlan0\n\n[Network]\nDHCP=yes\nMulticastDNS=yes\n",
    "etc/systemd/resolved.conf.d/edgekit-mdns.conf": "[Resolve]\nMulticastDNS=yes\n",
    "etc/ssh/sshd_config.d/edgekit.conf": "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                                          "PermitRootLogin no\n",
    # `edgekit deploy --manager systemd` runs `sudo -n systemctl ...` as this user (it logs in by key only)
    "etc/sudoers.d/edgekit": f"{USER} ALL=(ALL) NOPASSWD:ALL\n",
    # wpa_supplicant@wlan0 is enabled by the first-boot step when the settings give a network
    "etc/systemd/system/wpa_supplicant@wlan0.service.d/edgekit.conf":
        "[Unit]\nConditionPathExists=/etc/wpa_supplicant/wpa_supplicant-wlan0.conf\n",
    # every image copies one base root: its SSH host keys are made at the first boot, never shared
    "etc/systemd/system/edgekit-ssh-keys.service": """\
[Unit]
Description=Make this board's own SSH host keys
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
""",
    "etc/systemd/system/edgekit-firstboot.service": f"""\
[Unit]
Description=Apply edgekit's first-boot settings ({SETTINGS})
ConditionPathExists={SETTINGS}
RequiresMountsFor=/boot/firmware /home
Before=edgekit.service ssh.service network-pre.target wpa_supplicant@wlan0.service
Wants=network-pre.target

[Service]
Type=oneshot
ExecStart=/{BASE}/current/venv/bin/python -m edgekit.image.firstboot {SETTINGS}

[Install]
WantedBy=multi-user.target
""",
}
ENABLE = ("systemd-networkd", "systemd-resolved", "ssh", "edgekit-ssh-keys", "edgekit-firstboot", "edgekit")
