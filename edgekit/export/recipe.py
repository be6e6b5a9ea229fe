"""Saved export recipes (``export/*.yaml``): one model, several target/precision pairs, calibration and validation."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from edgekit.config.loader import load_yaml_model
from edgekit.errors import EdgekitError
from edgekit.paths import data_dir


class Target(BaseModel):
    """One artifact to produce."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(description="onnx, tflite, edgetpu or tensorrt")
    precision: str = Field("fp32", description="fp32, fp16, bf16 (openvino) or int8")


class Recipe(BaseModel):
    """An export recipe. Relative input paths are relative to the recipe file; ``out`` to the working directory."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    model: str = Field(description="ONNX or .pt file")
    targets: list[Target] = Field(min_length=1)
    imgsz: int | None = Field(None, ge=32, le=4096)
    calib: str | None = None
    val: str | None = None
    generated: int = Field(24, ge=0, le=1000, description="Composite validation images added to --val")
    seed: int = 0
    calib_method: str = "minmax"
    max_map_drop: float = Field(1.0, ge=0)
    out: str | None = Field(None, description="Output folder; default: the user's cache, where profiles find it")
    opset: int | None = Field(None, ge=11, le=23)
    dynamic: bool = False
    simplify: bool = True


def _resolve(value: str | None, base: Path) -> Path | None:
    if value is None:
        return None
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def load_recipe(name_or_path: str | Path) -> tuple[Recipe, Path]:
    """A recipe by path or by bundled name, and the folder its relative paths start from."""
    path = Path(name_or_path)
    if not path.is_file():
        bundled = data_dir("export") / f"{Path(str(name_or_path)).stem}.yaml"
        if not bundled.is_file():
            raise EdgekitError(f"export recipe not found: {name_or_path}")
        path = bundled
    return load_yaml_model(path, Recipe, "export recipe"), path.parent


def recipe_paths(r: Recipe, base: Path) -> dict[str, Path | None]:
    """The recipe's model/calib/val/out paths resolved against ``base``; ``$EDGEKIT_SHARED`` expands in them."""
    import os

    shared = os.environ.get("EDGEKIT_SHARED") or str(base.parent.parent / "shared")

    def expand(v: str | None) -> str | None:
        return None if v is None else v.replace("${EDGEKIT_SHARED}", shared)

    paths = {k: _resolve(expand(getattr(r, k)), base) for k in ("model", "calib", "val")}
    # output goes where the user runs the command (not into the recipe's folder), or into the cache
    paths["out"] = Path(r.out).expanduser() if r.out else None
    return paths
