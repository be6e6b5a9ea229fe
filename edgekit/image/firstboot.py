"""The first-boot step on the board (``edgekit-firstboot.service``, before sshd, the network and the service):
read ``/boot/firmware/edgekit-settings.yaml`` once, validate it, apply it, delete it.

All or nothing: a file with a bad value changes nothing; the board keeps what it runs (on the very first boot
that is the installed release without its secrets, so the service waits), the file stays for fixing, and the
reason is one line in the journal and in ``edgekit-settings.error.txt`` beside it, readable on a desktop.

Run as ``python -m edgekit.image.firstboot SETTINGS [--root /]``; ``--root`` applies to a folder (tests).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from edgekit.deploy.inventory import Board, board_overrides
from edgekit.deploy.rollout import env_text
from edgekit.errors import EdgekitError
from edgekit.image.settings import ERROR_FILENAME, FirstBootSettings, Wifi, load_settings

USER = "edgekit"
BASE = Path("home/edgekit/edgekit")  # the deploy base (relative to the root): releases/, current, state/
NEEDED = Path("etc/edgekit/image-env-vars")  # the variables the image's config needs, one a line
WPA_UNIT = "wpa_supplicant@wlan0.service"


def write(path: Path, text: str, mode: int = 0o644, owner: tuple[int, int] | None = None) -> None:
    """Write ``text`` through a temporary file (a power cut leaves the old file or the new one, not half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    if owner is not None:
        os.chown(tmp, *owner)
    tmp.replace(path)


def owner_of(home: Path) -> tuple[int, int] | None:
    st = home.stat() if home.exists() else None
    return (st.st_uid, st.st_gid) if st is not None else None


def wpa_conf(w: Wifi) -> str:
    def q(v: str) -> str:  # wpa_supplicant's quoted string: no escapes inside, so refuse a quote or a newline
        if '"' in v or "\n" in v:
            raise EdgekitError("wifi: ssid and psk may not contain '\"' or a line break")
        return f'"{v}"'

    return (f"ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev\nupdate_config=0\ncountry={w.country}\n\n"
            f"network={{\n    ssid={q(w.ssid)}\n    psk={q(w.psk)}\n    key_mgmt=WPA-PSK\n}}\n")


def apply(s: FirstBootSettings, root: Path) -> None:
    """Write every setting into the system at ``root``: hostname, SSH keys, Wi-Fi, the release's env file."""
    wifi = wpa_conf(s.wifi) if s.wifi else None  # checked before anything is written
    write(root / "etc/hostname", f"{s.hostname}\n")
    write(root / "etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{s.hostname}\n::1\tlocalhost ip6-localhost\n")
    home = root / "home" / USER
    owner = owner_of(home)
    if s.ssh_authorized_keys:
        (home / ".ssh").mkdir(mode=0o700, exist_ok=True)
        if owner:
            os.chown(home / ".ssh", *owner)
        write(home / ".ssh/authorized_keys", "".join(f"{k}\n" for k in s.ssh_authorized_keys), 0o600, owner)
    if wifi is not None:
        write(root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf", wifi, 0o600)
        # enabled only now: enabled without a wlan0 (Ethernet-only boards, VMs) it would wait 90 s for the device
        wants = root / "etc/systemd/system/multi-user.target.wants" / WPA_UNIT
        wants.parent.mkdir(parents=True, exist_ok=True)
        wants.unlink(missing_ok=True)
        wants.symlink_to("/lib/systemd/system/wpa_supplicant@.service")
    env = {**s.env, **board_overrides(Board(target="ssh://image", device=s.hostname))}
    current = root / BASE / "current"
    write(current.resolve() / "edgekit.env", env_text(env), 0o600, owner)


def needed_env(root: Path) -> list[str]:
    f = root / NEEDED
    return f.read_text().split() if f.is_file() else []


def run(settings: Path, root: Path) -> int:
    """Apply ``settings`` once; 0 when applied (the file is gone), 2 when refused (the file stays)."""
    error = settings.with_name(ERROR_FILENAME)
    try:
        s = load_settings(settings, needed_env(root))
        apply(s, root)
    except EdgekitError as e:
        line = f"{e} (nothing was applied; fix the file and boot again)"
        print(line, file=sys.stderr)
        write(error, line + "\n")
        return 2
    if root == Path("/"):
        socket.sethostname(s.hostname)  # systemd read /etc/hostname before this ran
        if s.wifi is not None:  # this boot too (the link above counts from the next one)
            subprocess.run(["systemctl", "start", "--no-block", WPA_UNIT], check=False)
    settings.unlink()
    error.unlink(missing_ok=True)
    print(f"applied {settings.name}: hostname {s.hostname}, {len(s.ssh_authorized_keys)} SSH key(s), "
          f"wifi {'on' if s.wifi else 'off'}, {len(s.env)} env variable(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("settings", type=Path)
    p.add_argument("--root", type=Path, default=Path("/"))
    a = p.parse_args(argv)
    return run(a.settings, a.root)


if __name__ == "__main__":
    sys.exit(main())
