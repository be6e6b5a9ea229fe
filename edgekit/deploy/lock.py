"""The board's Python packages: which platform a profile means, and a hash-pinned lock with its wheels.

``pip download --platform`` resolves edgekit's dependencies for the board (not for the desktop building the
bundle), so an offline board installs exactly the locked set with ``--no-index --require-hashes``. Boards whose venv
sees system packages built against numpy 1.x (Raspberry Pi OS's picamera2, JetPack's OpenCV/TensorRT) get
``numpy<2`` in the lock and no OpenCV wheel: the system's cv2 is the one imported.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from edgekit.deploy.manifest import Target, sha256_of
from edgekit.device.profiles import DeviceProfile
from edgekit.errors import EdgekitError
from edgekit.paths import cache_dir

# glibc of the boards' OS images: Raspberry Pi OS Bookworm 2.36, JetPack 6 (Ubuntu 22.04) 2.35. pip's --platform
# matches one tag exactly, so every manylinux tag from 2_17 (manylinux2014) up to this one is passed.
GLIBC_MINOR = 35
# Left to the system when the venv uses system packages (JetPack's cv2 has GStreamer/CUDA; Debian's matches numpy 1).
SYSTEM_EXCLUDED = ("opencv-python-headless", "opencv-python")
# Debian 12 / Ubuntu 22.04 build their python3-opencv, picamera2 and TensorRT bindings against numpy 1.x.
SYSTEM_PINS = ("numpy>=1.24,<2",)


def target_for(profile: DeviceProfile, machine: str | None = None, python: str | None = None,
               system_site: bool | None = None) -> Target:
    """The platform a profile's board runs: aarch64 boards, or this machine for the desktop/USB-accelerator ones."""
    board_is_host = profile.name in ("desktop", "coral-usb")
    machine = machine or (platform.machine() if board_is_host else "aarch64")
    python = python or profile.board.python or f"{sys.version_info[0]}.{sys.version_info[1]}"
    if not re.fullmatch(r"3\.\d{1,2}", python):
        raise EdgekitError(f"--python {python!r}: give the board's CPython as MAJOR.MINOR, e.g. 3.11")
    if system_site is None:
        cam = profile.camera.source
        system_site = cam.startswith(("picamera2", "csi://")) or profile.runtime.backend == "tensorrt"
    return Target(
        platform=f"manylinux_2_{GLIBC_MINOR}_{machine}",
        machine=machine,
        python=python,
        system_site_packages=system_site,
        excluded=list(SYSTEM_EXCLUDED) if system_site else [],
    )


def wheel_requires(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel's METADATA: what the shipped wheel needs, whatever is installed here."""
    try:
        with zipfile.ZipFile(wheel) as z:
            name = next(n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            meta = email.parser.BytesParser().parsebytes(z.read(name), headersonly=True)
    except (OSError, zipfile.BadZipFile, StopIteration):
        raise EdgekitError(f"{wheel}: not a wheel with a .dist-info/METADATA") from None
    return meta.get_all("Requires-Dist") or []


def requirements(target: Target, extras: tuple[str, ...] = ("daemon",), raw: list[str] | None = None) -> list[str]:
    """edgekit's requirements (core + ``extras``) for the board, as pip requirement strings: from ``raw`` (a
    wheel's ``Requires-Dist``, see ``wheel_requires``) or else the installed edgekit's metadata."""
    if raw is None:
        try:
            raw = requires("edgekit") or []
        except PackageNotFoundError:
            raise EdgekitError("edgekit is not installed (pip install -e .): pass its wheel's requirements") from None
    out: list[str] = []
    env = {"python_version": target.python, "platform_machine": target.machine, "sys_platform": "linux"}
    for line in raw:
        req = Requirement(line)
        if req.marker is not None:
            wanted = [e for e in ("", *extras) if req.marker.evaluate({**env, "extra": e})]
            if not wanted:
                continue
        if canonicalize_name(req.name) in target.excluded:
            continue
        req.marker = None
        out.append(str(req))
    if target.system_site_packages:
        out += list(SYSTEM_PINS)
    return out


def cached_download(reqs: list[str], target: Target, refresh: bool = False) -> list[Path]:
    """The wheels of ``reqs`` for ``target``, resolved once and kept in ``<cache>/bundle-wheels/<key>``: a later
    bundle of the same requirements ships the same locked set (``refresh`` resolves again from PyPI)."""
    key = hashlib.sha256(json.dumps([reqs, target.model_dump()], sort_keys=True).encode()).hexdigest()[:16]
    folder = cache_dir() / "bundle-wheels" / key
    done = folder / ".complete"
    if refresh or not done.is_file():
        tmp = folder.with_name(key + ".part")
        shutil.rmtree(tmp, ignore_errors=True)
        download(reqs, target, tmp)
        (tmp / ".complete").write_text(json.dumps(reqs))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    return sorted(folder.glob("*.whl"))


def download(reqs: list[str], target: Target, dest: Path, python: str = sys.executable) -> list[Path]:
    """``pip download`` the wheels of ``reqs`` for ``target`` into ``dest`` (binary wheels only)."""
    dest.mkdir(parents=True, exist_ok=True)
    abi = "cp" + target.python.replace(".", "")
    plats = [f"manylinux_2_{m}_{target.machine}" for m in range(GLIBC_MINOR, 16, -1)]
    plats += [f"manylinux2014_{target.machine}", f"linux_{target.machine}"]
    cmd = [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--dest", str(dest),
           "--only-binary=:all:", *(a for p in plats for a in ("--platform", p)), "--python-version", target.python,
           "--implementation", "cp", "--abi", abi, "--abi", "abi3", "--abi", "none", *reqs]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        last = [ln for ln in res.stderr.splitlines() if ln.strip()][-1:] or ["(no output)"]
        raise EdgekitError(f"pip download for {target.platform} cp{target.python} failed: {last[0]}")
    return sorted(dest.glob("*.whl"))


def lock_text(wheels: list[Path]) -> tuple[str, dict[str, str]]:
    """``requirements.lock`` for ``wheels`` (one ``name==version --hash=sha256:...`` each) and name → version."""
    lines = ["# edgekit bundle lock: pip install --no-index --find-links wheels --require-hashes -r requirements.lock"]
    packages: dict[str, str] = {}
    for w in sorted(wheels, key=lambda p: p.name.lower()):
        name, version, _, _ = parse_wheel_filename(w.name)
        packages[str(name)] = str(version)
        lines.append(f"{name}=={version} --hash=sha256:{sha256_of(w)}")
    return "\n".join(lines) + "\n", packages
