"""Turn a copy of the base root into the board's root: the image's files and user, then the bundle installed by
the same ``board.sh`` steps ``edgekit deploy`` runs (receive, unpack: the releases layout, the venv made by the
root's own arm64 python under qemu-user), switched to and enabled as the ``--manager systemd`` unit.

A later ``edgekit deploy --manager systemd ssh://edgekit@HOST`` finds that layout and updates it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from edgekit.deploy.manifest import Manifest
from edgekit.deploy.remote import BOARD_SCRIPT
from edgekit.errors import EdgekitError
from edgekit.image.firstboot import BASE, NEEDED, USER
from edgekit.image.units import CMDLINE, ENABLE, FILES

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run(cmd: list[str], what: str, stdin: Path | None = None) -> str:
    """Run ``cmd``; a failure is one line with its last output line."""
    with (stdin.open("rb") if stdin else open(os.devnull, "rb")) as f:
        r = subprocess.run(cmd, stdin=f, capture_output=True, check=False, env={"PATH": PATH, "LC_ALL": "C.UTF-8"})
    if r.returncode != 0:
        last = (r.stderr or r.stdout).decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise EdgekitError(f"{what} failed (exit {r.returncode}): {last[0]}")
    return r.stdout.decode(errors="replace")


@contextlib.contextmanager
def proc_mounted(root: Path) -> Iterator[None]:
    """/proc inside the root while pip runs there (never /sys: onnxruntime's import crashes under qemu-user then)."""
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)


def add_files(root: Path) -> None:
    for rel, text in FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.unlink(missing_ok=True)
        p.write_text(text)
        p.chmod(0o440 if rel.startswith("etc/sudoers.d/") else 0o644)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.symlink_to("../run/systemd/resolve/stub-resolv.conf")
    (root / "boot/firmware/cmdline.txt").write_text(CMDLINE)


def add_user(root: Path) -> tuple[int, int]:
    """The ``edgekit`` user (key login only, the video group for cameras, sudo for deploy's systemd manager)."""
    run(["chroot", str(root), "useradd", "-m", "-s", "/bin/bash", "-G", "video,sudo", USER], "useradd in the root")
    run(["chroot", str(root), "usermod", "-p", "*", USER], "usermod in the root")  # unlocked, no password
    st = (root / "home" / USER).stat()
    return st.st_uid, st.st_gid


def board(root: Path, uid: tuple[int, int], action: str, *args: str, stdin: Path | None = None) -> str:
    """One board.sh step in the root, as the board's user (what ``edgekit deploy`` runs over SSH)."""
    cmd = ["chroot", f"--userspec={uid[0]}:{uid[1]}", str(root), "/usr/bin/env", f"HOME=/home/{USER}",
           f"USER={USER}", "/bin/sh", "-c", BOARD_SCRIPT, "edgekit-board", action, f"/{BASE}", *args]
    return run(cmd, f"board.sh {action} in the root", stdin)


def install_bundle(root: Path, bundle: Path, m: Manifest, uid: tuple[int, int]) -> None:
    """Receive and unpack the bundle as a release, switch ``current`` to it, install and enable its system unit."""
    board(root, uid, "receive", m.id, stdin=bundle)
    with proc_mounted(root):
        board(root, uid, "unpack", m.id, "python3", "1" if m.target.system_site_packages else "0")
    base = root / BASE
    (base / "current").symlink_to(f"releases/{m.id}")
    os.lchown(base / "current", *uid)
    # as board.sh's `restart systemd` writes it: the board user, the video group, the home filled in
    unit = (base / "current/edgekit.service").read_text().replace("%h", f"/home/{USER}")
    unit = unit.replace("[Service]\n", f"[Service]\nUser={USER}\nSupplementaryGroups=video\n", 1)
    (base / "edgekit.service.system").write_text(unit)
    (root / "etc/systemd/system/edgekit.service").write_text(unit)


def compile_natively(root: Path, uid: tuple[int, int]) -> None:
    """Byte-compile the installed releases and their dependency layers with this host's CPython when it is the
    root's minor version (3.11: same .pyc format), instead of leaving it to the board's first imports (slow on an
    SD card, and ~50x slower under emulation); ``-s``/``-p`` record the paths as the board sees them."""
    if sys.version_info[:2] != (3, 11):
        return
    base = root / BASE
    # not checked: a package's deliberately broken test files fail to compile, and the board would skip them too
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", "-s", str(root), "-p", "/",
                    str(base / "envs"), str(base / "releases")], capture_output=True, check=False)
    run(["chown", "-R", f"{uid[0]}:{uid[1]}", str(base)], "chown of the release")


def prepare_root(root: Path, bundle: Path, m: Manifest, needed_env: list[str]) -> None:
    """Everything per image, in the copied root."""
    add_files(root)
    uid = add_user(root)
    install_bundle(root, bundle, m, uid)
    compile_natively(root, uid)
    (root / NEEDED).parent.mkdir(parents=True, exist_ok=True)
    (root / NEEDED).write_text("".join(f"{v}\n" for v in needed_env))
    run(["systemctl", f"--root={root}", "enable", *ENABLE], "systemctl enable in the root")
