"""Which TensorRT versions run, and where the builder must ask for explicit batch: JetPack 5.1's 8.5.2 up to 10.x,
and anything older refused in one line (TensorRT itself cannot be installed here, so the rule is a table)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from edgekit.backends.tensorrt_version import TENSORRT_API, needs_explicit_batch, tensorrt_version
from edgekit.errors import EdgekitError, MissingDependencyError
from tests.helpers import REPO


@pytest.mark.parametrize(
    ("version", "major_minor", "explicit_batch"),
    [
        ("8.5.2.2", (8, 5), True),  # JetPack 5.1.x
        ("8.6.1.6", (8, 6), True),
        ("9.3.0.post12.dev1", (9, 3), True),  # desktop-only 9.x: implicit batch not yet removed
        ("10.0.1", (10, 0), False),
        ("10.3.0.30", (10, 3), False),  # JetPack 6.1/6.2
        ("10.13.0.35", (10, 13), False),
        ("11.0.0", (11, 0), False),
        (" 10.7.0 ", (10, 7), False),
    ],
)
def test_supported_versions(version: str, major_minor: tuple[int, int], explicit_batch: bool) -> None:
    assert tensorrt_version(version) == major_minor
    assert needs_explicit_batch(version) is explicit_batch


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("8.4.1.5", "TensorRT >= 8.5 is not available: this is TensorRT 8.4.1.5, older than the name-based tensor API edgekit uses; on a Jetson flash JetPack 6"),  # JetPack 5.0.2
        ("8.2.1.8", "TensorRT >= 8.5 is not available: this is TensorRT 8.2.1.8,"),  # JetPack 4.6
        ("7.1.3", "TensorRT >= 8.5 is not available: this is TensorRT 7.1.3,"),
        ("", "cannot read the TensorRT version ''"),
        ("unknown", "cannot read the TensorRT version 'unknown'"),
        ("10", "cannot read the TensorRT version '10'"),
    ],
)
def test_unsupported_versions_are_one_line(version: str, message: str) -> None:
    for check in (tensorrt_version, needs_explicit_batch):
        with pytest.raises(EdgekitError) as e:
            check(version)
        assert str(e.value).startswith(message) and "\n" not in str(e.value)
        # too old reads as TensorRT missing (a profile's stand-in runs instead); unreadable is a plain error
        assert isinstance(e.value, MissingDependencyError) is message.startswith("TensorRT >= 8.5")


def _stub_classes() -> dict[str, str]:
    """Class name → its text in tensorrt-stubs (10.x), which scripts/test.sh installs."""
    spec = importlib.util.find_spec("tensorrt_bindings")
    assert spec is not None and spec.submodule_search_locations, "tensorrt-stubs missing: run scripts/test.sh"
    text = (Path(next(iter(spec.submodule_search_locations))) / "tensorrt.pyi").read_text()
    return {m[1]: m[0] for m in re.finditer(r"^class (\w+)\b.*?(?=^class |\Z)", text, re.M | re.S)}


def _in_stubs(classes: dict[str, str], entry: str) -> bool:
    cls, member = entry.split(".")
    return re.search(rf"^\s+(def {member}\(|{member}: )", classes.get(cls, ""), re.M) is not None


def test_the_tensorrt_api_edgekit_calls_is_in_the_10x_stubs_and_in_its_code() -> None:
    classes = _stub_classes()
    code = "".join((REPO / "edgekit" / "backends" / f).read_text() for f in ("tensorrt.py", "tensorrt_build.py"))
    assert [e for e in TENSORRT_API if not _in_stubs(classes, e)] == []
    assert [e for e in TENSORRT_API if f".{e.split('.')[1]}" not in code] == []  # listed, no longer called
    # the 8.x binding API that 10.0 removed is reported missing
    for removed in ("IExecutionContext.execute_async_v2", "ICudaEngine.get_binding_index", "Builder.build_engine"):
        assert not _in_stubs(classes, removed), removed
