"""The runnable examples in the docstrings of the package and of the benchmarks' harness run (``# doctest: +SKIP``
only where a model or broker is needed)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.helpers import REPO

MODULES = sorted(
    ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
    for folder in (REPO / "edgekit", REPO / "benchmarks" / "lib")  # the harness outside the wheel too
    for p in folder.rglob("*.py")
    if "migrations" not in p.parts  # alembic's scripts: they run inside alembic, not on import
)


def test_some_modules_have_examples() -> None:
    finder = doctest.DocTestFinder()
    with_examples = [m for m in MODULES if any(t.examples for t in finder.find(importlib.import_module(m)))]
    assert len(with_examples) >= 10, with_examples


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as e:  # a module of an optional extra that is not installed in this venv
        pytest.skip(f"{name}: {e}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"
