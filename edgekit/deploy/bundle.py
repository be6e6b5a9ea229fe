"""``edgekit bundle``: everything a board needs in one tar (format in ``edgekit.deploy.manifest``), and its check."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from edgekit import __version__
from edgekit.backends.runtimes import get_runtime, model_files, runtime_for_file
from edgekit.config.daemon import DaemonConfig, parse_config
from edgekit.config.env import has_placeholder
from edgekit.config.loader import yaml_env_names
from edgekit.deploy.lock import cached_download, lock_text, requirements, target_for, wheel_requires
from edgekit.deploy.manifest import FORMAT, MANIFEST, FileEntry, Manifest, ModelEntry, PlanEntry, Target, entry_for
from edgekit.deploy.signing import SIGNATURE, sign
from edgekit.device.artifacts import exports_root
from edgekit.device.modelcards import ModelCard, load_card, resolve_model_path
from edgekit.device.plan import find_variant, source_sha256
from edgekit.device.profiles import DeviceProfile, load_profile
from edgekit.device.tuned import RELEASE_PLANS, TunedPlan, plan_mismatch, plan_name, plan_path, read_plan
from edgekit.errors import EdgekitError
from edgekit.hub.bridge import BUNDLE_PATH, bridge_template
from edgekit.pipeline.service import board_unit_text

# Set by `edgekit deploy` per board; the daemon reads them over the config (see config.daemon.apply_env).
BOARD_VARS = ("EDGEKIT_DEVICE", "EDGEKIT_MQTT_CLIENT_ID")


@dataclass
class BundleOptions:
    """What ``edgekit bundle`` was asked for; None fields come from the profile."""

    config: Path
    out: Path
    profile: str | None = None
    machine: str | None = None
    python: str | None = None
    system_site: bool | None = None
    wheel: Path | None = None
    extras: tuple[str, ...] = ("daemon",)
    refresh: bool = False  # resolve the board's wheels again instead of reusing the cached set
    key: Any = None
    """The ed25519 key that signs the manifest (``signing.operator_key``); None: unsigned."""
    plan: Path | None = None
    """The tuned plan to ship (``--plan``); None: the user's plan store's for the profile and model."""
    no_plan: bool = False
    """Ship no tuned plan (``--no-plan``)."""


def config_env_vars(text: str, name: str = "<config>") -> list[str]:
    """The environment variables a config's ``{NAME}`` placeholders read (filled on the board from its env file):
    found by the loader's own walk, so a comment, a key or ``${NAME}`` never asks the deploy for a variable."""
    return yaml_env_names(text, name)


def needed_env(text: str, cfg: DaemonConfig, name: str = "<config>") -> list[str]:
    """What a board's env file must set for this config: its placeholders and its bridge's password variable."""
    bridge = [cfg.bridge.password_env] if cfg.bridge is not None and cfg.mqtt is not None else []
    return sorted({*config_env_vars(text, name), *bridge})


def check_config_text(text: str, name: str) -> DaemonConfig:
    """Validate the config's structure here, every placeholder filled with a stand-in value for this check only
    (no local secret reaches the bundle; the board checks the real values with `edgekit config check` before it
    switches releases)."""
    return parse_config(text, name, environ=dict.fromkeys(config_env_vars(text, name), "1"))


def project_root() -> Path | None:
    """The checkout edgekit runs from (where pyproject.toml is), or None for an installed wheel."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def build_wheel(dest: Path) -> Path:
    """Build edgekit's wheel from this checkout into ``dest`` (hatchling, no dependencies)."""
    root = project_root()
    if root is None:
        raise EdgekitError("edgekit runs from an installed wheel here: pass --wheel FILE (pip wheel --no-deps .)")
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dest), str(root)]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.insert(5, "--no-build-isolation")  # hatchling is here: no download of the build backend
    res = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("edgekit-*.whl"))
    if res.returncode != 0 or not wheels:
        last = [ln for ln in res.stderr.splitlines() if ln.strip()][-1:] or ["(no output)"]
        raise EdgekitError(f"building edgekit's wheel failed: {last[0]}")
    return wheels[-1]


MODEL_SUFFIXES = (".onnx", ".tflite", ".engine", ".xml")


def copy_model(src: Path, dest: Path) -> None:
    """Copy the model file ``src`` to ``dest`` with the files that travel with it (an OpenVINO IR's ``.bin``)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    for f in model_files(src):
        shutil.copy2(f, dest.with_name(f.name))


def cache_path(variant: Path, card: ModelCard, own: Path) -> str:
    """Where the export ``variant`` of ``card`` ships: ``cache/exports/...``, the layout of the user's cache (so the
    board's cache finds it as this one does)."""
    root = exports_root()
    rel = (variant.relative_to(root) if variant.is_relative_to(root)
           else Path(source_sha256(card, own)[:16]) / "bundled" / variant.name)
    return f"cache/exports/{rel.as_posix()}"


def choose_model(cfg: DaemonConfig, profile: DeviceProfile, config_dir: Path = Path(".")) -> tuple[ModelEntry,
                                                                                                   Path | None]:
    """The model file the profile runs: its ``edgekit export`` variant when one exists, else the card's own file.

    A variant ships under ``cache/exports/<source sha256[:16]>/...``, the layout ``edgekit.device.artifacts`` finds
    exports in; the board copies it into its cache (``EDGEKIT_CACHE``), where the runtime plan finds it. A config
    whose ``model:`` is a relative file path (``models/my.onnx``, relative to the config) ships that file at the same
    path: the board runs from the release folder, so the config needs no change. TensorRT engines depend on the
    exact GPU and TensorRT version, so they are never bundled: a TensorRT profile gets the ONNX, and the board's
    first start builds the engine next to it in the cache, with a timing cache, and logs that it does
    (``edgekit.backends.tensorrt_build.ensure_engine``); a TensorRT upgrade or another GPU rebuilds it the same way.
    """
    rt = profile.runtime
    if cfg.model.endswith(MODEL_SUFFIXES):
        rel = Path(cfg.model)
        if rel.is_absolute() or ".." in rel.parts:
            raise EdgekitError(f"config model {cfg.model!r}: give a path relative to the config (it ships there)")
        src = config_dir / rel
        if not src.is_file():
            raise EdgekitError(f"config model {cfg.model!r}: {src} not found")
        return ModelEntry(card=rel.stem, file=rel.as_posix(), backend=rt.backend, precision="as exported"), src
    card = load_card(cfg.model)
    own = resolve_model_path(card)
    runtime = "onnxruntime" if rt.backend == "tensorrt" else rt.backend
    note = "TensorRT engine: built on the board at its first start (timing cache beside it)" \
        if rt.backend == "tensorrt" else ""
    for precision in dict.fromkeys((rt.precision, "fp32")):
        variant = find_variant(card, own, runtime, precision, rt.imgsz)
        if variant is not None and variant != own:
            return ModelEntry(card=card.name, file=cache_path(variant, card, own), backend=rt.backend,
                              precision=precision, note=note), variant
    hint = "" if rt.precision == "fp32" else (
        f"no {rt.precision} {rt.imgsz} export found (edgekit export --profile {profile.name}): FP32 ONNX used."
    )
    note = " ".join(x for x in (hint, note, "The card's own file ships inside edgekit's wheel.") if x)
    return ModelEntry(card=card.name, file=f"wheel:{own.name}", backend=rt.backend, precision="fp32",
                      note=note), None


@dataclass(frozen=True)
class PlanChoice:
    """The tuned plan a bundle ships (as read: its artifact is where it was tuned) and where it came from, or why
    none ships."""

    plan: TunedPlan | None = None
    source: str = ""
    why_none: str = ""


def choose_plan(cfg: DaemonConfig, profile: DeviceProfile, plan_file: Path | None = None,
                no_plan: bool = False) -> PlanChoice:
    """The tuned plan for ``profile`` running the config's model: ``plan_file`` (``--plan``; a missing or damaged
    file, or one for another profile or model, is an error), else the user's plan store's (a plan tuned on a board
    of that profile and copied back, or tuned here for the host's profile; one that does not fit is left out, and
    the reason is the summary's line). Reads and checks only; nothing is written."""
    if plan_file is not None and no_plan:
        raise EdgekitError("--plan and --no-plan: pass one of them")
    if no_plan:
        return PlanChoice(why_none="--no-plan")
    if cfg.model.endswith(MODEL_SUFFIXES):
        if plan_file is not None:
            raise EdgekitError(f"--plan {plan_file}: the config's model is a file ({cfg.model}); tuned plans are for "
                               "model cards (edgekit models)")
        return PlanChoice(why_none=f"the config's model is a file ({cfg.model}), and tune plans model cards")
    card = load_card(cfg.model)
    sha = source_sha256(card, resolve_model_path(card))
    if plan_file is not None:
        if not plan_file.is_file():
            raise EdgekitError(f"--plan {plan_file}: no such file")
        plan = read_plan(plan_file)
        problem = plan_mismatch(plan, profile.name, card.name, sha)
        if problem:
            raise EdgekitError(f"--plan {plan_file}: {problem}")
        return PlanChoice(plan, f"--plan {plan_file}")
    path = plan_path(profile.name, card.name)
    if not path.is_file():
        return PlanChoice(why_none=f"none tuned for {profile.name} and {card.name} (`edgekit tune --profile "
                                   f"{profile.name}` on such a board, then copy its plan to {path}, or pass --plan)")
    try:
        plan = read_plan(path)
    except EdgekitError as e:
        return PlanChoice(why_none=str(e))
    problem = plan_mismatch(plan, profile.name, card.name, sha)
    return PlanChoice(why_none=f"{path} left out: {problem}") if problem else PlanChoice(plan, str(path))


def plan_artifact(plan: TunedPlan, profile: DeviceProfile, source: Path) -> Path:
    """The model file ``plan`` runs, exported from ``source`` here by the normal export path with its accuracy gate
    (cached: a plan tuned on this machine reuses tune's own export). INT8 weights follow the profile's board, as
    ``edgekit export --profile`` makes them."""
    from edgekit.export import ExportOptions, export  # the export stack loads only when a plan ships
    from edgekit.export.valset import SHIPPED

    rt = get_runtime(plan.runtime)
    rep = export(source, ExportOptions(
        target=rt.target, precision=plan.precision, imgsz=plan.imgsz, val=SHIPPED,
        target_cpu=f"{profile.name} ({profile.board.cpu})", target_dot=profile.board.dot_product))
    if rep.passed is False or not rep.artifact:
        raise EdgekitError(f"the tuned plan's model ({plan.runtime} {plan.precision} {plan.imgsz}) failed the accuracy "
                           f"gate here (mAP50-95 drop {rep.map_drop} > {rep.max_map_drop}): tune again, or bundle "
                           "with --no-plan")
    return Path(rep.artifact)


def ship_plan(plan: TunedPlan, source: str, profile: DeviceProfile, stage: Path) -> PlanEntry:
    """Put ``plan`` and the model it runs into the bundle's ``stage``; the shipped plan's artifact is relative to
    the release the board unpacks it into."""
    card = load_card(plan.model)
    own = resolve_model_path(card)
    art = plan_artifact(plan, profile, own)
    rel = cache_path(art, card, own)
    copy_model(art, stage / rel)
    report = art.with_name(art.name + ".report.json")  # the export's gate verdict travels with it
    if report.is_file():
        shutil.copy2(report, stage / (rel + ".report.json"))
    file = f"{RELEASE_PLANS}/{plan_name(plan.profile, plan.model)}"
    (stage / file).parent.mkdir(parents=True, exist_ok=True)
    (stage / file).write_text(plan.model_copy(update={"artifact": rel}).model_dump_json(indent=2) + "\n")
    return PlanEntry(file=file, artifact=rel, summary=plan.summary(), cpu=plan.cpu, source=source)


def plan_line(m: Manifest) -> str:
    """The bundle summary's line on its tuned plan: which one ships, or why none does."""
    if m.plan is None:
        return f"tuned plan: none ({m.plan_note or 'none chosen'})"
    return f"tuned plan: {m.plan.summary}; tuned on {m.plan.cpu}; from {m.plan.source}"


def bridge_file(text: str, cfg: DaemonConfig, name: str) -> str | None:
    """The Mosquitto bridge file the bundle carries (None without a ``bridge:`` section). Only the board's device
    name and password vary per board (placeholders filled by the deploy); the rest is written here, so it must be
    given literally."""
    if cfg.bridge is None or cfg.mqtt is None:
        return None
    raw = yaml.safe_load(text) or {}
    mqtt: dict[str, Any] = raw["mqtt"] if isinstance(raw.get("mqtt"), dict) else {}
    for key, value in (("bridge", raw.get("bridge")), ("mqtt.port", mqtt.get("port")),
                       ("mqtt.topic_prefix", mqtt.get("topic_prefix"))):
        if has_placeholder(value):
            raise EdgekitError(f"{name}: {key} uses a {{NAME}} placeholder, but the bundle's Mosquitto bridge file is "
                               f"written from it: give it literally (the board's device name and "
                               f"{cfg.bridge.password_env} come from its env file)")
    return bridge_template(cfg.bridge, cfg.mqtt.topic_prefix, cfg.mqtt.port)


def env_template(vars_: list[str]) -> str:
    lines = ["# edgekit env file (mode 0600 on the board). `edgekit deploy` fills it from your environment or",
             "# --env-file; values are never stored in the bundle.",
             "# EDGEKIT_DEVICE / EDGEKIT_MQTT_CLIENT_ID override the config's device name and MQTT client id."]
    lines += [f"{v}=" for v in [*vars_, *BOARD_VARS]]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class BundleInputs:
    """What a bundle is made of, read and checked before anything is written or built."""

    text: str
    cfg: DaemonConfig
    profile: DeviceProfile
    target: Target
    plan: PlanChoice


def check_inputs(opts: BundleOptions) -> BundleInputs:
    """Read and check everything the user gives a bundle (config, profile, board, tuned plan); writes nothing, so a
    bad input costs one line before any key, wheel or file is made."""
    if not opts.config.is_file():
        raise EdgekitError(f"config file {opts.config} not found")
    text = opts.config.read_text(encoding="utf-8")
    cfg = check_config_text(text, str(opts.config))
    pname = opts.profile or cfg.profile
    if not pname:
        raise EdgekitError("no profile: pass --profile NAME or set `profile:` in the config (see `edgekit devices`)")
    profile = load_profile(pname)
    target = target_for(profile, opts.machine, opts.python, opts.system_site)
    return BundleInputs(text, cfg, profile, target, choose_plan(cfg, profile, opts.plan, opts.no_plan))


def build_bundle(opts: BundleOptions, step: Callable[[str], None] = lambda label: None,
                 inputs: BundleInputs | None = None) -> Manifest:
    """Write the bundle ``opts.out`` and return its manifest; ``step`` is told each long step as it starts (the
    CLI's progress). ``inputs``: ``check_inputs(opts)``, when the caller checked them already."""
    got = inputs or check_inputs(opts)
    text, cfg, profile, target, chosen = got.text, got.cfg, got.profile, got.target, got.plan
    with tempfile.TemporaryDirectory(prefix="edgekit-bundle-") as tmp:
        stage = Path(tmp)
        wheels = stage / "wheels"
        wheels.mkdir()
        if opts.wheel is not None:
            if not opts.wheel.is_file():
                raise EdgekitError(f"--wheel {opts.wheel} not found")
            own = Path(shutil.copy2(opts.wheel, wheels / opts.wheel.name))
        else:
            step("build the edgekit wheel")
            own = build_wheel(wheels)
        model, model_file = choose_model(cfg, profile, opts.config.parent)
        shipped = None
        if chosen.plan is not None:  # before the wheels: an export that fails its gate stops the bundle early
            tp = chosen.plan
            step(f"the tuned plan's model: {tp.runtime} {tp.precision} {tp.imgsz}, exported and gated (cached after "
                 "the first time)")
            shipped = ship_plan(tp, chosen.source, profile, stage)
        # e.g. an OpenVINO IR (the config's model or the tuned plan's): the board needs openvino to run it
        needs = (runtime_for_file(model_file).extra if model_file is not None else None,
                 get_runtime(chosen.plan.runtime).extra if chosen.plan is not None else None)
        extras = tuple(dict.fromkeys((*opts.extras, *(n for n in needs if n is not None))))
        # The shipped wheel's own requirements: an editable install's metadata here may be older than the checkout.
        step(f"board wheels for {target.platform}, CPython {target.python} (resolved and downloaded once, then cached)")
        deps = cached_download(requirements(target, extras, wheel_requires(own)), target, opts.refresh)
        for w in deps:
            shutil.copy2(w, wheels / w.name)
        lock, packages = lock_text([wheels / w.name for w in deps])
        (stage / "requirements.lock").write_text(lock)
        if model_file is not None:
            step(f"copy the model {model_file.name}")
            copy_model(model_file, stage / model.file)
            report = model_file.with_name(model_file.name + ".report.json")  # the export's gate verdict
            if model.file.startswith("cache/") and report.is_file():
                shutil.copy2(report, stage / (model.file + ".report.json"))
        (stage / "config.yaml").write_text(text, encoding="utf-8")
        vars_ = needed_env(text, cfg, str(opts.config))
        bridge = bridge_file(text, cfg, str(opts.config))
        if bridge is not None:
            (stage / BUNDLE_PATH).parent.mkdir(parents=True, exist_ok=True)
            (stage / BUNDLE_PATH).write_text(bridge)
        (stage / "edgekit.env.example").write_text(env_template(vars_))
        clips = sorted({c.clips.folder for c in cfg.cameras.values() if c.clips.enabled and c.clips.folder})
        (stage / "edgekit.service").write_text(board_unit_text(writable=clips))  # the sandbox lets it write these
        files = {p.relative_to(stage).as_posix(): entry_for(p) for p in sorted(stage.rglob("*")) if p.is_file()}
        now = dt.datetime.now(dt.timezone.utc)
        manifest = Manifest(
            id=f"{now:%Y%m%dT%H%M%SZ}-{content_hash(files)}", created=now.isoformat(timespec="seconds"),
            profile=profile.name, device=cfg.device, edgekit_version=__version__,
            edgekit_wheel=f"wheels/{own.name}", target=target, model=model, env_vars=vars_, packages=packages,
            files=files, bridge=BUNDLE_PATH if bridge is not None else None, plan=shipped, plan_note=chosen.why_none,
        )
        step(f"write and sign {opts.out.name}")
        _write_tar(opts.out, stage, manifest, opts.key)
    return manifest


def content_hash(files: dict[str, FileEntry]) -> str:
    """The content part of a bundle id: the sha256 of every file's name and sha256, 8 hex digits."""
    return hashlib.sha256(json.dumps({k: v.sha256 for k, v in files.items()}, sort_keys=True).encode()).hexdigest()[:8]


def _write_tar(out: Path, stage: Path, manifest: Manifest, key: Any = None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with tarfile.open(tmp, "w:gz", compresslevel=1) as tar:  # wheels are zips already: level 1 is enough
        data = manifest.model_dump_json(indent=2).encode()
        members = [(MANIFEST, data), *([(SIGNATURE, sign(data, key))] if key is not None else [])]
        for name, blob in members:  # first: a reader finds them without reading the wheels
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(blob), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(blob))
        for name in manifest.files:
            tar.add(stage / name, arcname=name, recursive=False)
    tmp.replace(out)


def verify_bundle(path: Path, check_files: bool = True) -> Manifest:
    """Check a bundle: manifest schema, every member listed with its sha256 and size, nothing unlisted or unsafe.

    ``check_files=False`` reads and checks the manifest only (its first member: instant, where the full check
    reads every byte)."""
    if not path.is_file():
        raise EdgekitError(f"bundle {path} not found")
    try:
        tar = tarfile.open(path, "r:gz")  # noqa: SIM115 (closed by the `with` below)
    except (tarfile.TarError, OSError) as e:
        raise EdgekitError(f"bundle {path}: not a gzipped tar ({e})") from None
    with tar:
        try:
            member = tar.extractfile(MANIFEST)
            raw = member.read() if member is not None else b""
        except KeyError:
            raise EdgekitError(f"bundle {path}: no {MANIFEST} (not an edgekit bundle)") from None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise EdgekitError(f"bundle {path}: {MANIFEST} is not JSON ({e})") from None
        if data.get("format") != FORMAT:
            raise EdgekitError(f"bundle {path}: format {data.get('format')!r}, this edgekit reads {FORMAT!r}")
        try:
            manifest = Manifest.model_validate(data)
        except ValueError as e:
            raise EdgekitError(f"bundle {path}: {MANIFEST} does not match the schema ({e})") from None
        if not check_files:
            return manifest
        seen: set[str] = set()
        if manifest.id.rsplit("-", 1)[1] != content_hash(manifest.files):
            raise EdgekitError(f"bundle {path}: its id {manifest.id} does not match its files (id recomputed)")
        for m in tar:
            if m.name in (MANIFEST, SIGNATURE):
                continue
            if not m.isfile() or m.name.startswith("/") or ".." in Path(m.name).parts:
                raise EdgekitError(f"bundle {path}: unsafe member {m.name!r} (only plain relative files)")
            want = manifest.files.get(m.name)
            if want is None:
                raise EdgekitError(f"bundle {path}: {m.name} is not listed in the manifest")
            f = tar.extractfile(m)
            h = hashlib.sha256()
            while f is not None and (block := f.read(1 << 20)):
                h.update(block)
            if FileEntry(sha256=h.hexdigest(), size=m.size) != want:
                raise EdgekitError(f"bundle {path}: {m.name} changed since it was bundled (sha256 mismatch)")
            seen.add(m.name)
        missing = sorted(set(manifest.files) - seen)
        if missing:
            raise EdgekitError(f"bundle {path}: {len(missing)} listed file(s) missing, e.g. {missing[0]}")
    return manifest


def signed_parts(path: Path) -> tuple[bytes, bytes | None]:
    """The exact bytes of ``manifest.json`` and of ``manifest.sig`` (None: unsigned) of a bundle."""
    with tarfile.open(path, "r:gz") as tar:
        def member(name: str) -> bytes | None:
            try:
                f = tar.extractfile(name)
            except KeyError:
                return None
            return f.read() if f is not None else None

        return member(MANIFEST) or b"", member(SIGNATURE)


def bundle_env_vars(path: Path) -> list[str]:
    """The variables a bundle's board env file gets from the deployer: the ``{PLACEHOLDERS}`` of the bundle's own
    config and its bridge's password variable, never a list the manifest states (a hand-made manifest could name
    any secret of the deployer's environment). The config is read only once it matches the manifest's sha256."""
    manifest = verify_bundle(path, check_files=False)
    with tarfile.open(path, "r:gz") as tar:
        try:
            f = tar.extractfile(manifest.config)
        except KeyError:
            raise EdgekitError(f"bundle {path}: no {manifest.config}") from None
        raw = f.read() if f is not None else b""
    want = manifest.files.get(manifest.config)
    if want is None or hashlib.sha256(raw).hexdigest() != want.sha256:
        raise EdgekitError(f"bundle {path}: {manifest.config} changed since it was bundled (sha256 mismatch)")
    text = raw.decode("utf-8")
    name = f"{path}:{manifest.config}"
    return needed_env(text, check_config_text(text, name), name)


def target_summary(t: Target) -> str:
    venv = "venv over system packages" if t.system_site_packages else "plain venv"
    return f"{t.machine} CPython {t.python} ({venv})"
