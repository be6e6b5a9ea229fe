"""``edgekit deploy``: put a verified bundle on a board as a new release, switch to it, roll back on failure.

Steps per board (each one line in the plan ``--dry-run`` prints):
 1. verify the bundle here (every sha256), build the board's env file here (secrets never on a command line)
 2. probe the board over SSH: Python >= 3.10 and the bundle's machine (aarch64, x86_64)
 3. upload into ``<base>/incoming``, unpack into ``<base>/releases/<id>``, check every sha256 there, install the
    lock offline into ``<base>/envs/<key>`` (a layer shared by the releases of one lock, Python and venv kind: a
    release that changes only edgekit or its config installs one wheel), make the release's venv over that layer
    and install edgekit's wheel into it, write ``edgekit.env`` (0600)
 4. ``edgekit config check`` and ``edgekit doctor`` with that env, on the board
 5. switch ``<base>/current`` to the release and restart the service; wait for ``/healthz``
 6. on a failure in 3–4 the new release is discarded and nothing was switched; in 5 ``current`` goes back to
    the previous release, which is restarted and must be healthy again
"""

from __future__ import annotations

import io
import os
import re
import shlex
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.config.daemon import DaemonConfig, parse_config
from edgekit.deploy.bundle import BOARD_VARS, verify_bundle
from edgekit.deploy.manifest import Manifest
from edgekit.deploy.remote import BoardError, SSHTarget
from edgekit.errors import EdgekitError

MANAGERS = ("systemd-user", "systemd", "process")
MIN_PYTHON = (3, 10)
ROLLBACK_HEALTH_S = 120.0  # the least time the previous release gets to be healthy again after a rollback
# The board's env file is read by sh (`set -a; . edgekit.env`) as well as by systemd: a key that is not a plain
# shell name (`A=1;reboot;B`) would run as a command there.
ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# `--base` reaches board.sh as an argument and names folders there: plain path characters only, no `..`.
BASE_PATH = re.compile(r"[A-Za-z0-9_.+@%/-]+")


def check_env_key(key: str) -> str:
    if not ENV_KEY.fullmatch(key):
        raise EdgekitError(f"env key {key!r} is not a shell variable name ([A-Za-z_][A-Za-z0-9_]*)")
    return key


def check_base(base: str) -> str:
    """``base`` as a folder on the board: absolute, or relative to the SSH user's home."""
    if not BASE_PATH.fullmatch(base) or base.startswith("-") or ".." in base.split("/") \
            or not base.strip("/"):
        raise EdgekitError(f"base {base!r}: give a folder path of letters, digits and ._+@%/- "
                           "(relative: under the user's home), without '..'")
    return base


@dataclass
class DeployOptions:
    base: str = "edgekit"  # relative: under the SSH user's home
    manager: str = "systemd-user"
    python: str = "python3"
    health_timeout_s: float = 120.0
    keep: int = 3
    env: dict[str, str] = field(default_factory=dict)  # board env file contents (after overrides)


@dataclass
class DeployResult:
    board: str
    release: str
    ok: bool
    message: str
    rolled_back_to: str | None = None


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a secrets file (systemd EnvironmentFile / sh syntax: quotes, ``#`` comments)."""
    if not path.is_file():
        raise EdgekitError(f"env file {path} not found")
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not ENV_KEY.fullmatch(key.strip()):
            raise EdgekitError(f"{path}:{n}: expected KEY=value")
        try:
            words = shlex.split(value, comments=True)
        except ValueError as e:
            raise EdgekitError(f"{path}:{n}: {e}") from None
        out[key.strip()] = " ".join(words)
    return out


def board_env(needed: Sequence[str], env_file: Path | None, overrides: Mapping[str, str] | None = None,
              environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The board's env file: each variable the config uses (``bundle.bundle_env_vars``: read from the bundle's own
    config, never from its manifest), from ``env_file`` or else this environment, then the per-board ``overrides``
    (device name, client id, camera sources...). A missing variable is an error here, before anything reaches the
    board."""
    environ = os.environ if environ is None else environ
    given = read_env_file(env_file) if env_file is not None else {}
    env: dict[str, str] = {}
    for var in needed:
        if var in given:
            env[var] = given[var]
        elif var in environ:
            env[var] = environ[var]
    env.update({k: v for k, v in given.items() if k in BOARD_VARS or k.startswith("EDGEKIT_")})
    env.update(overrides or {})
    missing = [v for v in needed if v not in env]
    if missing:
        raise EdgekitError(f"the config uses {', '.join(missing)}: set it in your environment or in --env-file")
    return env


def env_text(env: Mapping[str, str]) -> str:
    def q(v: str) -> str:  # single-quoted for sh `.`: the value is never expanded on the board
        return "'" + v.replace("'", "'\"'\"'") + "'"

    return "".join(f"{check_env_key(k)}={q(v)}\n" for k, v in env.items())


def bundle_config(bundle: Path, env: Mapping[str, str]) -> DaemonConfig:
    """The bundle's config as the board will read it (with the board's env)."""
    text = ""
    with tarfile.open(bundle, "r|gz") as tar:  # streamed: config.yaml comes before the models and wheels
        for m in tar:
            if m.name == "config.yaml":
                f = tar.extractfile(m)
                text = f.read().decode() if f is not None else ""
                break
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        return parse_config(text, f"{bundle.name}:config.yaml")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def upload_bytes(bundle: Path, manifest: Manifest, have: set[str]) -> tuple[bytes, int]:
    """The bundle to send: as it is, or a copy without the files whose sha256 is in ``have`` (and how many)."""
    skip = {name for name, e in manifest.files.items() if e.sha256 in have}
    if not skip:
        return bundle.read_bytes(), 0
    buf = io.BytesIO()
    with tarfile.open(bundle, "r|gz") as tin, tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tout:
        for m in tin:
            if m.name not in skip:
                tout.addfile(m, tin.extractfile(m) if m.isfile() else None)
    return buf.getvalue(), len(skip)


def health_port(bundle: Path, env: Mapping[str, str]) -> int:
    """The board's /healthz port (the config's metrics port, with the board's env)."""
    cfg = bundle_config(bundle, env)
    if not cfg.metrics.enabled or cfg.metrics.port == 0:
        raise EdgekitError("the config disables metrics: deploy waits for /healthz, set `metrics: {enabled: true}`")
    return cfg.metrics.port


def plan_lines(manifest: Manifest, target: SSHTarget, opts: DeployOptions, port: int) -> list[str]:
    rel = f"~/{opts.base}/releases/{manifest.id}" if not opts.base.startswith("/") else \
        f"{opts.base}/releases/{manifest.id}"
    venv = "--system-site-packages venv" if manifest.target.system_site_packages else "venv"
    bridge_to = "/etc/mosquitto/conf.d, Mosquitto restarted" if opts.manager == "systemd" else \
        f"{opts.base}/mosquitto/, for the board's Mosquitto to include"
    return [
        f"board {target.name}: {opts.python} >= {MIN_PYTHON[0]}.{MIN_PYTHON[1]} on {manifest.target.machine}",
        f"upload bundle {manifest.id} (less the files the board holds already) and unpack into {rel} (sha256 of "
        f"{len(manifest.files)} files checked there)",
        f"install {len(manifest.packages)} locked packages offline into the {venv} layer of this lock (once per "
        f"lock), then the release's venv over it with edgekit {manifest.edgekit_version}",
        f"write {rel}/edgekit.env (0600): {', '.join(sorted(opts.env)) or 'no variables'}",
        "run `edgekit config check` and `edgekit doctor` there",
        *([f"fill {manifest.bridge} from the env file and install it ({bridge_to})"] if manifest.bridge else []),
        f"switch current → {manifest.id}, restart ({opts.manager}), wait for /healthz on port {port} "
        f"(≤ {opts.health_timeout_s:.0f} s)",
        "on failure: discard the release, or switch back to the previous one and restart it",
    ]


def deploy_one(bundle: Path, target: SSHTarget, opts: DeployOptions, manifest: Manifest | None = None,
               dry_run: bool = False, say: Callable[[str], None] = lambda s: None) -> DeployResult:
    """Deploy ``bundle`` to one board; raises BoardError (one line) when the board is left on its old release.

    ``manifest``: the bundle was verified already (a rollout verifies once for all boards); without it the bundle
    is verified here, after the board's probe (an unreachable board answers in seconds, not after every byte of
    the bundle was hashed) and before anything reaches the board."""
    check_base(opts.base)
    verified = manifest is not None
    manifest = manifest or verify_bundle(bundle, check_files=False)
    if dry_run:
        if not verified:
            verify_bundle(bundle)
        for line in plan_lines(manifest, target, opts, health_port(bundle, opts.env)):
            say(line)
        return DeployResult(target.name, manifest.id, True, "dry run")
    base, rid = opts.base, manifest.id

    probe = target.board("probe", base, opts.python).split()
    if not probe or probe[0] == "none":
        raise BoardError(f"{target.name}: no {opts.python} on the board (edgekit needs Python >= 3.10)")
    ver = tuple(int(x) for x in probe[0].split("."))
    if ver < MIN_PYTHON:
        raise BoardError(f"{target.name}: Python {probe[0]} on the board; edgekit needs Python >= 3.10")
    if len(probe) > 1 and probe[1] != manifest.target.machine:
        raise BoardError(f"{target.name}: the board is {probe[1]}, the bundle is for {manifest.target.machine}")
    if not verified:
        verify_bundle(bundle)
    port = health_port(bundle, opts.env)
    running = target.board("current", base)
    kept = target.board("has", base, rid) == "yes"  # ids are content hashes: the same id is the same bundle
    if running == rid:
        say(f"{target.name}: release {rid} is already live; restarting it")
    elif kept:
        say(f"{target.name}: release {rid} is still on the board (checked when installed): reusing it")
    try:
        if not kept:
            # files an installed release already holds (the wheels of an unchanged lock, the model) stay out of the
            # upload: the board hard-links them and checks every sha256 as for uploaded ones
            data, left_out = upload_bytes(bundle, manifest, set(target.board("have", base, opts.python).split()))
            say(f"{target.name}: uploading {len(data) / 2**20:.1f} MiB"
                + (f" ({left_out} files already on the board)" if left_out else ""))
            target.board("receive", base, rid, stdin=data)
            say(f"{target.name}: installing release {rid}")
            target.board("unpack", base, rid, opts.python, "1" if manifest.target.system_site_packages else "0")
        target.board("env", base, rid, stdin=env_text(opts.env).encode())
        say(f"{target.name}: config check and doctor")
        target.board("check", base, rid)  # the new env replaces the release's only when this passes
    except BoardError as e:
        if not kept:
            target.board("discard", base, rid, check=False)
        raise BoardError(f"{e}; {_still(running)}") from None
    try:
        say(f"{target.name}: switching to {rid} and waiting for /healthz")
        target.board("activate", base, rid, opts.manager)
        target.board("health", base, str(port), str(opts.health_timeout_s), opts.python,
                     timeout=opts.health_timeout_s + 60)
    except BoardError as e:
        back = target.board("rollback", base, rid, opts.manager, check=False).strip() or "none"
        if back != "none":
            # the release that ran before restarts from scratch (model load, first frame): give it time
            wait = max(opts.health_timeout_s, ROLLBACK_HEALTH_S)
            try:
                target.board("health", base, str(port), str(wait), opts.python, timeout=wait + 60)
            except BoardError as again:
                raise BoardError(f"{e}; rolled back to {back}, which is not healthy either: {again}") from None
        raise BoardError(f"{e}; rolled back to {back}") from None
    target.board("prune", base, str(opts.keep), check=False)
    return DeployResult(target.name, rid, True, f"{rid} live and healthy", None)


def _still(running: str) -> str:
    return "nothing was running" if running == "none" else f"{running} keeps running"
