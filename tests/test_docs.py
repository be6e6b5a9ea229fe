"""The user guide builds with `mkdocs build --strict`, and its generated references follow the code: every
top-level command of the Typer app, every top-level key of the daemon and hub configs, every error type."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgekit.config.daemon import DaemonConfig
from edgekit.config.hub import HubConfig
from tests.helpers import REPO

pytest.importorskip("material", reason="needs the [docs] extra (mkdocs-material)")

# In a child process: registering the commands changes the app, which other tests run as users do.
COMMANDS = """
import json, typer
from edgekit.cli import main
main._register()
group = typer.main.get_command(main.app)
print(json.dumps(group.list_commands(group.context_class(group, info_name="edgekit"))))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=REPO,
                       capture_output=True, text=True, timeout=600,
                       env={**os.environ, "PYTHONPATH": str(REPO), "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0, r.stderr[-4000:]
    return out


def _page(site: Path, name: str) -> str:
    return (site / "reference" / name / "index.html").read_text(encoding="utf-8")


def test_the_cli_reference_lists_every_top_level_command(site: Path) -> None:
    r = subprocess.run([sys.executable, "-c", COMMANDS], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    commands = json.loads(r.stdout)
    assert {"run", "detect", "export", "ask", "fleet", "config"} <= set(commands)
    html = _page(site, "cli")
    missing = [c for c in commands if f'id="edgekit-{c}"' not in html]
    assert not missing, f"commands not in the CLI reference: {missing}"
    assert 'id="edgekit-config-check"' in html and "--connect / --no-connect" in html  # a group's subcommands, options


def test_the_config_reference_lists_every_top_level_key(site: Path) -> None:
    html = _page(site, "config")
    for model, prefix in ((DaemonConfig, ""), (HubConfig, "hub-")):
        keys = [f.alias or name for name, f in model.model_fields.items()]
        missing = [k for k in keys if f'id="{prefix}{k}"' not in html]
        assert not missing, f"{model.__name__} keys not in the config reference: {missing}"
    assert 'id="cameraconfig"' in html and "timeout_s" in html  # a nested section's table


def test_the_troubleshooting_page_lists_the_error_types_and_their_messages(site: Path) -> None:
    html = _page(site, "troubleshooting")
    for name in ("EdgekitError", "MissingDependencyError", "SourceError", "BoardError"):
        assert f"<code>{name}</code>" in html, name
    # a message of the config loader, with its computed part shown as a placeholder
    assert "config file {p} not found: pass an existing YAML file" in html
    # MissingDependencyError's own wording around its two arguments
    assert "paho-mqtt is not available: pip install" in html


def test_nothing_in_edgekit_imports_the_docs_hooks() -> None:
    bad = []
    for path in sorted((REPO / "edgekit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] in ("docs", "hooks")]
    assert not bad, bad
