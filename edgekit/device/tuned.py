"""The host's tuned plan: the winner of ``edgekit tune`` for one profile and model, kept per user.

A plan lives in ``plans_dir()`` (``$EDGEKIT_PLANS``, else ``<config>/plans``) as ``<profile>--<model>.json``. It is
keyed by the CPU (model name and a hash of its flags) and the model (the source's sha256): a plan file made on
another CPU, or for another version of the model, is ignored with one line, never silently used. It is written
atomically (a temporary file renamed over the old one), so an interrupted tune leaves the previous plan in force.

A bundle ships one too (``edgekit bundle``: ``plans/<profile>--<model>.json`` in the release, its ``artifact``
relative to the release). The lookup tries the user's store first, then the running release's plan
(``release_dir``), with the same checks.

Examples:
    >>> cpu_key(CpuFeatures("AMD EPYC", frozenset({"avx2", "fma"})))
    'd64fb43d4b48811a'
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgekit.backends.base import Spinning
from edgekit.backends.runtimes import RUNTIMES, available
from edgekit.backends.threads import spin_switch
from edgekit.device.cpu import CpuFeatures, host_cpu
from edgekit.device.host import probe_host
from edgekit.device.modelcards import resolve_model, sha256_file
from edgekit.device.profiles import DeviceProfile, load_profile
from edgekit.errors import EdgekitError
from edgekit.paths import config_dir

log = logging.getLogger(__name__)

class TunedPlan(BaseModel):
    """What ``edgekit tune`` measured fastest for one profile and model on one CPU."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: int = 1
    profile: str
    model: str = Field(description="Model card name (or model file stem)")
    model_sha256: str
    cpu: str = Field(description="CPU model name from /proc/cpuinfo")
    cpu_key: str = Field(description="sha256 of the CPU name and its sorted flags, first 16 hex digits")
    runtime: str
    precision: str
    imgsz: int
    threads: int = Field(ge=1)
    spinning: bool
    streams: int = Field(1, ge=1, description="Frames in inference at once (OpenVINO's streams; 1: one at a time)")
    artifact: str = Field(description="The model file this plan runs")
    fps: float = Field(description="Daemon pipeline FPS measured by tune")
    baseline_fps: float | None = Field(None, description="ONNX Runtime FP32's pipeline FPS in the same run")
    x_fp32: float | None = Field(None, description="Median over interleaved rounds of FPS ÷ the baseline's FPS")
    map50_95: float | None = None
    map_drop: float | None = Field(None, description="mAP50-95 points below ONNX Runtime FP32 at the profile's size")
    baseline_map50_95: float | None = None
    mode: str = "quick"
    created: str = ""

    def summary(self) -> str:
        """One line: runtime, precision, size, threads, spinning and the speed-up over FP32."""
        ratio = self.x_fp32 or (self.fps / self.baseline_fps if self.baseline_fps else None)
        gain = f", {ratio:.2f}× ONNX Runtime FP32" if ratio else ""
        spin = "spinning on" if self.spinning else "spinning off"
        streams = f", {self.streams} streams" if self.streams > 1 else ""
        return (f"{self.runtime} {self.precision} {self.imgsz}, {self.threads} threads, {spin}{streams} "
                f"({self.fps:.2f} FPS{gain})")

    @property
    def spin(self) -> Spinning:
        """``BackendOptions.spinning`` for this plan: the backend turns it into its own settings (ONNX Runtime's
        ``spin_entries``; the others have no such switch)."""
        return spin_switch(self.spinning)


def cpu_key(cpu: CpuFeatures) -> str:
    """The CPU a plan was measured on: its name and sorted flags, hashed."""
    text = cpu.name + "\n" + " ".join(sorted(cpu.flags))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plans_dir() -> Path:
    """Where plans live: ``$EDGEKIT_PLANS``, else ``<config dir>/plans``."""
    env = os.environ.get("EDGEKIT_PLANS")
    return Path(env) if env else config_dir() / "plans"


def plan_name(profile: str, model: str) -> str:
    """The file name of the plan of ``profile`` running ``model``, in the store and in a release alike."""
    return f"{profile}--{model}.json"


def plan_path(profile: str, model: str) -> Path:
    """The plan file of ``profile`` running ``model`` in the user's store."""
    return plans_dir() / plan_name(profile, model)


RELEASE_PLANS = "plans"
"""The folder of a bundle (and of the release unpacked from it) that holds its shipped plan."""


def release_dir() -> Path | None:
    """The deployed release edgekit runs from: ``$EDGEKIT_RELEASE``, else the folder above the running venv when
    it holds a bundle's ``manifest.json`` (a board runs ``releases/<id>/venv/bin/edgekit``, by its unit or by
    hand); ``None`` elsewhere."""
    env = os.environ.get("EDGEKIT_RELEASE")
    if env:
        return Path(env)
    here = Path(sys.prefix).parent
    return here if sys.prefix != sys.base_prefix and (here / "manifest.json").is_file() else None


def save_plan(plan: TunedPlan) -> Path:
    """Write ``plan`` atomically (temporary file in the same folder, then a rename); returns its path."""
    path = plan_path(plan.profile, plan.model)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".plan-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(plan.model_dump_json(indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_plan(path: Path) -> TunedPlan:
    """The plan in ``path``; a damaged file is a one-line ``EdgekitError``."""
    try:
        return TunedPlan.model_validate_json(path.read_text())
    except (OSError, ValidationError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EdgekitError(f"plan file {path} cannot be read: {first}") from None


def plan_mismatch(plan: TunedPlan, profile: str, model: str, model_sha256: str) -> str | None:
    """Why ``plan`` is not a plan for ``profile`` running ``model`` (this version of it); ``None``: it is."""
    if plan.profile != profile:
        return f"it is a plan for profile {plan.profile}, not {profile}"
    if plan.model != model:
        return f"it is a plan for model {plan.model}, not {model}"
    if plan.model_sha256 != model_sha256:
        return (f"it was tuned for another {plan.model} (sha256 {plan.model_sha256[:12]}…, this one "
                f"{model_sha256[:12]}…)")
    return None


def why_not(plan: TunedPlan, profile: str, model: str, model_sha256: str, cpu: CpuFeatures,
            runtimes: dict[str, bool]) -> str | None:
    """Why ``plan`` cannot run ``profile``/``model`` here (another CPU, profile or model, runtime or file missing);
    ``None``: usable."""
    if plan.cpu_key != cpu_key(cpu):
        return f"it was tuned on another CPU ({plan.cpu}, key {plan.cpu_key}; this one: {cpu.name}, {cpu_key(cpu)})"
    mismatch = plan_mismatch(plan, profile, model, model_sha256)
    if mismatch:
        return mismatch
    rt = RUNTIMES.get(plan.runtime)
    if rt is None or not available(rt, runtimes):
        extra = f": pip install 'edgekit[{rt.extra}]'" if rt is not None and rt.extra else ""
        return f"its runtime {plan.runtime} is not installed here{extra}"
    if not Path(plan.artifact).is_file():
        return f"its model file {plan.artifact} is gone (run `edgekit tune --profile {plan.profile}` again)"
    return None


@dataclass(frozen=True)
class PlanLookup:
    """The plan file looked for (or found), the plan when it applies, where it came from, and the one line saying
    why not when none does."""

    path: Path
    plan: TunedPlan | None = None
    ignored: str | None = None
    source: str = ""
    """Where ``plan`` came from, for the user: empty for the user's own store, ``shipped in release ID`` else."""


def _places(profile: str, model: str) -> list[tuple[Path, Path | None]]:
    """(plan file, the release it ships in, None for the user's store), in the order they are tried."""
    places: list[tuple[Path, Path | None]] = [(plan_path(profile, model), None)]
    rel = release_dir()
    if rel is not None:
        places.append((rel / RELEASE_PLANS / plan_name(profile, model), rel))
    return places


def lookup_plan(profile: str, model: str, model_sha256: str, runtimes: dict[str, bool],
                cpu: CpuFeatures | None = None) -> PlanLookup:
    """The tuned plan for ``profile``/``model`` if one fits this CPU, model and runtimes: the user's own first,
    then the one shipped in the running release (its artifact relative to the release). ``ignored`` says in one
    line why a plan found was not used (the store's, when the release's runs instead; both, when neither fits)."""
    places = _places(profile, model)
    why: list[str] = []
    for path, rel in places:
        if not path.is_file():
            continue
        try:
            plan = read_plan(path)
        except EdgekitError as e:
            why.append(f"tuned plan {path} ignored: {e}")
            continue
        if rel is not None and not Path(plan.artifact).is_absolute():
            plan = plan.model_copy(update={"artifact": str(rel / plan.artifact)})
        problem = why_not(plan, profile, model, model_sha256, cpu or host_cpu(), runtimes)
        if problem:
            why.append(f"tuned plan {path} ignored: {problem}")
            continue
        return PlanLookup(path, plan, ignored="; ".join(why) or None,
                          source=f"shipped in release {rel.resolve().name}" if rel is not None else "")
    return PlanLookup(places[0][0], ignored="; ".join(why) or None)


def load_plan(profile: str | Path | DeviceProfile, model: str | None = None) -> TunedPlan | None:
    """The tuned plan for ``profile`` (name, YAML or loaded) running ``model`` (card name; default: the profile's)
    on this machine (the user's own, else the running release's), or ``None``: what scripts call (``run``,
    ``detect`` and ``bench`` get it through ``plan_runtime``; ``bundle`` and ``image`` ship the plan store's plan for
    a board, which need not fit this machine: ``edgekit.deploy.bundle.choose_plan``).

    A plan file that does not fit (another CPU or model, a runtime not installed, its model file gone) is ignored
    with one warning line.
    """
    prof = profile if isinstance(profile, DeviceProfile) else load_profile(profile)
    card, path = resolve_model(model or prof.runtime.model)
    name = card.name if card is not None else path.stem
    sha = (card.sha256 if card is not None else None) or sha256_file(path)
    found = lookup_plan(prof.name, name, sha, probe_host().runtimes)
    if found.ignored:
        log.warning(found.ignored)
    return found.plan
