"""``edgekit image``: from a profile, a config (or a signed bundle) and optional settings to a flashable image.

Order: everything the user can get wrong is checked first (profile, settings, size syntax, tools, the bundle's
signature and board), then the slow parts run (the base root once, the bundle's venv under qemu-user, mkfs).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.deploy.bundle import BundleOptions, build_bundle, bundle_env_vars, signed_parts, verify_bundle
from edgekit.deploy.manifest import Manifest
from edgekit.deploy.signing import check_signature, trusted_keys
from edgekit.errors import EdgekitError
from edgekit.image.assemble import assemble, tree_bytes
from edgekit.image.base import ensure_base, image_cache
from edgekit.image.layout import Layout, human, plan
from edgekit.image.root import prepare_root
from edgekit.image.settings import FILENAME, FirstBootSettings, check_env, template
from edgekit.image.tools import check_tools

PROFILES = ("rpi4",)
MACHINE, PYTHON = "aarch64", "3.11"  # Debian 12 arm64's CPython


def check_profile(profile: str) -> None:
    """Only boards whose image this builds and that Debian 12 boots; the others get what to do instead."""
    if profile.startswith("jetson"):
        raise EdgekitError(f"no board image for {profile}: flashing a Jetson is NVIDIA SDK Manager's job; flash "
                           "JetPack with it, then `edgekit deploy BUNDLE ssh://USER@BOARD` (or "
                           "scripts/setup_jetson.sh)")
    if profile == "rpi5":
        raise EdgekitError("no board image for rpi5: Debian 12's kernel (6.1) and raspi-firmware do not support "
                           "the Pi 5's BCM2712; flash Raspberry Pi OS (64-bit, Bookworm) with Raspberry Pi Imager, "
                           "then `edgekit deploy BUNDLE ssh://USER@BOARD` (or scripts/setup_rpi.sh)")
    if profile not in PROFILES:
        raise EdgekitError(f"no board image for profile {profile!r}: edgekit image builds {', '.join(PROFILES)}")


@dataclass
class ImageOptions:
    profile: str
    out: Path
    config: Path | None = None
    bundle: Path | None = None
    settings: FirstBootSettings | None = None  # validated already; else the image gets the commented template
    size: int | None = None
    cache: Path | None = None
    key: Any = None  # the operator's signing key, for a bundle built here
    trusted: list[Path] = field(default_factory=list)
    insecure_unsigned: bool = False
    plan: Path | None = None  # the tuned plan a bundle built here ships (None: the user's plan store's)
    no_plan: bool = False


def target_size(out: Path) -> int | None:
    """The bytes a block device holds (``-o /dev/sdX``); None for a file."""
    try:
        st = out.stat()
    except FileNotFoundError:
        return None
    if not stat.S_ISBLK(st.st_mode):
        return None
    with out.open("rb") as f:
        return f.seek(0, os.SEEK_END)


def check_size(layout: Layout, device_bytes: int | None, out: Path) -> None:
    if device_bytes is not None and device_bytes < layout.total:
        raise EdgekitError(f"{out} is too small: {human(device_bytes)}, the image needs {human(layout.total)}")


def trusted_bundle(opts: ImageOptions, work: Path) -> Path:
    """The bundle to install: the one given, checked as ``edgekit deploy`` checks it, or one built here."""
    if opts.bundle is not None:
        verify_bundle(opts.bundle, check_files=False)
        if not opts.insecure_unsigned:
            check_signature(opts.bundle, *signed_parts(opts.bundle), trusted_keys(opts.trusted))
        return opts.bundle
    out = work / "bundle.tar.gz"
    build_bundle(bundle_options(opts, out))
    return out


def bundle_options(opts: ImageOptions, out: Path) -> BundleOptions:
    """How the image's own bundle is built from ``--config``: for the image's board (Debian 12 arm64, plain venv),
    with the tuned plan ``--plan``/``--no-plan`` choose."""
    if opts.config is None:
        raise EdgekitError("pass --config FILE (the daemon config to ship) or --bundle FILE")
    return BundleOptions(config=opts.config, out=out, profile=opts.profile, machine=MACHINE, python=PYTHON,
                         system_site=False, key=opts.key, plan=opts.plan, no_plan=opts.no_plan)


def check_target(m: Manifest, bundle: Path) -> None:
    if m.target.machine != MACHINE or m.target.python != PYTHON:
        raise EdgekitError(f"bundle {bundle} is for {m.target.machine} CPython {m.target.python}; the image runs "
                           f"{MACHINE} CPython {PYTHON}: bundle with --machine {MACHINE} --python {PYTHON}")
    if m.target.system_site_packages:
        raise EdgekitError(f"bundle {bundle} wants the system's packages (picamera2, OpenCV), which the image (Debian "
                           "12) does not have: bundle with --no-system-site")


def build_image(opts: ImageOptions, say: Callable[[str], None] = lambda s: None) -> Layout:
    """Write the image to ``opts.out`` (a file, or a block device it fits on); returns its layout."""
    check_profile(opts.profile)
    if opts.size is not None:
        plan(opts.size, 0)  # a size no root fits in is refused before anything slow
    check_tools()
    if os.geteuid() != 0:
        raise EdgekitError("edgekit image needs root (the root's files keep their owners; chroot): run it with sudo")
    cache = image_cache(opts.cache)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edgekit-image-", dir=cache) as tmp:
        work = Path(tmp)
        bundle, m, needed = checked_bundle(opts, work)
        say(f"bundle {m.id}; base root (built once, 40-80 min; log {cache / 'base-build.log'})")
        base = ensure_base(cache, cache / "base-build.log")
        check_size(plan(opts.size, tree_bytes(base), "--size"), target_size(opts.out), opts.out)  # before the slow part
        root = work / "root"
        say("copying the base root")
        subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(root)], check=True)
        (root / ".complete").unlink(missing_ok=True)
        say("installing the bundle (its venv under qemu-user: minutes)")
        prepare_root(root, bundle, m, needed)
        text = template(needed) if opts.settings is None else settings_yaml(opts.settings)
        return write_image(root, opts, {FILENAME: text}, work, say)


def checked_bundle(opts: ImageOptions, work: Path) -> tuple[Path, Manifest, list[str]]:
    """(the bundle, its manifest, the secrets its config needs), all checked; ``--settings`` gives those."""
    bundle = trusted_bundle(opts, work)
    m = verify_bundle(bundle)
    check_target(m, bundle)
    needed = bundle_env_vars(bundle)
    if opts.settings is not None:
        check_env(opts.settings, needed, "--settings")
    return bundle, m, needed


def write_image(root: Path, opts: ImageOptions, boot_files: dict[str, str], work: Path,
                say: Callable[[str], None]) -> Layout:
    """The prepared root as an image at ``opts.out``: a file, or through a file onto the block device."""
    layout = plan(opts.size, tree_bytes(root), "--size" if opts.size else "the image")
    device = target_size(opts.out)
    check_size(layout, device, opts.out)
    say(f"assembling {human(layout.total)} (FAT {human(layout.boot_size)}, ext4 {human(layout.root_size)})")
    image = opts.out if device is None else work / "image.img"
    assemble(root, layout, boot_files, image, work)
    if device is not None:
        say(f"writing to {opts.out}")
        subprocess.run(["dd", f"if={image}", f"of={opts.out}", "bs=4M", "conv=fsync", "status=none"], check=True)
    shutil.rmtree(root, ignore_errors=True)
    return layout


def settings_yaml(s: FirstBootSettings) -> str:
    import yaml

    return "# edgekit first-boot settings, given to `edgekit image --settings`\n" + \
        yaml.safe_dump(s.model_dump(exclude_none=True), sort_keys=False)
