"""The base root: Debian 12 arm64 with the kernel, the Raspberry Pi firmware and what the board runs, built once
by mmdebstrap (dpkg runs under qemu-user: 40-80 min) and cached, keyed by a hash of this recipe.

Every image copies it; what differs per image (user, network, bundle, units) is added to the copy. Changing
anything here changes the key and pays for a new build: keep the recipe as it is unless the image needs it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.paths import cache_dir

SUITE = "bookworm"
ARCH = "arm64"
VARIANT = "minbase"
COMPONENTS = "main,non-free-firmware"  # firmware-brcm80211: the Pi's Wi-Fi
MIRROR = "http://deb.debian.org/debian"
# As in Debian's raspi images (image-specs): the kernel, raspi-firmware (its postinst puts the firmware, the kernel,
# the initrd, config.txt and cmdline.txt into /boot/firmware), networkd + resolved, wpa_supplicant, sshd.
PACKAGES = ("systemd-sysv", "udev", "kmod", "linux-image-arm64", "raspi-firmware", "firmware-brcm80211",
            "wpasupplicant", "openssh-server", "iproute2", "systemd-resolved", "systemd-timesyncd", "python3",
            "python3-venv", "ca-certificates", "dbus", "libpam-systemd", "sudo", "v4l-utils", "dosfstools",
            "mosquitto")
SETUP_HOOK = 'mkdir -p "$1/boot/firmware"'  # raspi-firmware's hooks install into it
COMPLETE = ".complete"


def recipe_key() -> str:
    """12 hex digits naming this recipe (everything that changes the root's contents)."""
    text = "|".join((ARCH, VARIANT, COMPONENTS, SUITE, ",".join(PACKAGES), SETUP_HOOK))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def image_cache(cache: Path | None = None) -> Path:
    """``--cache``, else ``$EDGEKIT_IMAGE_CACHE`` (CI: /var/cache/edgekit-ci), else ``<edgekit cache>/image``."""
    if cache is not None:
        return cache
    env = os.environ.get("EDGEKIT_IMAGE_CACHE")
    return Path(env) if env else cache_dir() / "image"


def base_dir(cache: Path) -> Path:
    return cache / f"image-base-{ARCH}-{recipe_key()}"


def mmdebstrap_args(out: Path) -> list[str]:
    return ["mmdebstrap", f"--arch={ARCH}", f"--variant={VARIANT}", f"--components={COMPONENTS}",
            f"--include={','.join(PACKAGES)}", f"--setup-hook={SETUP_HOOK}", SUITE, str(out), MIRROR]


def ensure_base(cache: Path, log: Path) -> Path:
    """The cached base root (built now when missing; its output goes to ``log``)."""
    out = base_dir(cache)
    if (out / COMPLETE).is_file():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "image-base.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another `edgekit image` building it: wait, then use its root
        if (out / COMPLETE).is_file():
            return out
        return _build(out, log)


def _build(out: Path, log: Path) -> Path:
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with log.open("ab") as f:
        r = subprocess.run(mmdebstrap_args(tmp), stdout=f, stderr=subprocess.STDOUT, check=False)
    if r.returncode != 0:
        raise EdgekitError(f"mmdebstrap failed building the base root (exit {r.returncode}): see {log}")
    (tmp / COMPLETE).touch()
    tmp.rename(out)
    return out
