"""The board setup scripts: their env file (secrets from the environment into a 0600 file the unit reads, values
round-tripping through sh quoting: spaces, quotes, #, $, never expanded), the edgekit command lines they run or name
(parsed by the real CLI), and the Jetson script's first-start check."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from edgekit.cli import main as cli_main
from edgekit.export.formats import FORMATS

REPO = Path(__file__).resolve().parents[2]
SECRET = "p a's$HOME #x`id`"


def test_write_env_file_round_trips_secrets_with_mode_0600(tmp_path: Path) -> None:
    cfg = tmp_path / "d.yaml"
    cfg.write_text("mqtt: {username: '{MQTT_USER}', password: '{MQTT_PASSWORD}'}\n")
    env_file = tmp_path / "etc" / "edgekit.env"
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    script = f'. {REPO}/scripts/board_env.sh; write_env_file "$1" "$2" "$3"'
    res = subprocess.run(["bash", "-c", script, "sh", str(cfg), str(env_file), user], capture_output=True,
                         text=True, stdin=subprocess.DEVNULL,
                         env={**os.environ, "MQTT_USER": "cam", "MQTT_PASSWORD": SECRET})
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(env_file.parent.stat().st_mode) == 0o700
    back = subprocess.run(["sh", "-c", '. "$0"; printf "%s|%s" "$MQTT_USER" "$MQTT_PASSWORD"', str(env_file)],
                          capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert back.stdout == f"cam|{SECRET}"
    # a re-run without the variables keeps what the board already has; a missing one is one clear line, exit 2
    res = subprocess.run(["bash", "-c", script, "sh", str(cfg), str(env_file), user], capture_output=True,
                         text=True, stdin=subprocess.DEVNULL, env={"PATH": os.environ["PATH"]})
    assert res.returncode == 0, res.stderr
    back = subprocess.run(["sh", "-c", '. "$0"; printf "%s" "$MQTT_PASSWORD"', str(env_file)],
                          capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert back.stdout == SECRET
    cfg.write_text("mqtt: {password: '{OTHER_SECRET}'}\n")
    res = subprocess.run(["bash", "-c", script, "sh", str(cfg), str(env_file), user], capture_output=True,
                         text=True, stdin=subprocess.DEVNULL, env={"PATH": os.environ["PATH"]})
    assert res.returncode == 2 and "OTHER_SECRET is not set" in res.stderr


SCRIPTS = [REPO / "scripts" / "setup_jetson.sh", REPO / "scripts" / "setup_rpi.sh"]
CALL = re.compile(r'bin/edgekit"?\s+([^;&|\n]+)')  # "$VENV/bin/edgekit" service install --config "$CONFIG" ...
NAMED = re.compile(r"\\?`edgekit ([^`\\]+)\\?`")  # `edgekit export MODEL --to tensorrt` in a comment or message


def _edgekit_lines(script: Path) -> list[tuple[list[str], bool]]:
    """Every edgekit command line ``script`` runs (True) or names to the reader (False), as its argument list."""
    text = script.read_text().replace("\\\n", " ")
    return [(shlex.split(m), True) for m in CALL.findall(text)] + [(shlex.split(m), False) for m in NAMED.findall(text)]


def _parse(argv: list[str]) -> click.Context:
    """``argv`` parsed by the real CLI (every command group registered), without running the command."""
    app = typer.Typer()
    for name in cli_main.COMMANDS:
        importlib.import_module(name).register(app)
    cmd: click.Command = typer.main.get_command(app)
    words = ["edgekit"]
    while isinstance(cmd, click.Group):
        assert argv and argv[0] in cmd.commands, f"{' '.join(words)} has no command {argv[:1]}"
        words.append(argv[0])
        cmd, argv = cmd.commands[argv[0]], argv[1:]
    return cmd.make_context(" ".join(words), argv)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_setup_scripts_name_only_commands_and_options_the_cli_has(script: Path) -> None:
    subprocess.run(["bash", "-n", str(script)], check=True)
    lines = _edgekit_lines(script)
    assert any(a[:2] == ["service", "install"] and runs for a, runs in lines), lines  # the extraction is alive
    for argv, runs in lines:
        try:
            ctx = _parse(argv)  # an unknown command or option, or a bad value, raises click's usage error here
        except click.MissingParameter:
            if runs:
                raise
            continue  # prose naming a command ("written by `edgekit service install`") leaves its options out
        if ctx.params.get("to") is not None:
            assert ctx.params["to"] in FORMATS, f"{argv}: --to is one of {list(FORMATS)}"
        if ctx.params.get("profile") is not None:
            assert (REPO / "devices" / f"{ctx.params['profile']}.yaml").is_file(), argv


def test_an_export_target_that_does_not_exist_is_caught() -> None:
    ctx = _parse(shlex.split("export MODEL --to engine --profile jetson-orin-nano"))
    assert ctx.params["to"] == "engine" and "engine" not in FORMATS
    with pytest.raises(click.NoSuchOption):
        _parse(["service", "install", "--config", "d.yaml", "--env", "x"])
    with pytest.raises(AssertionError, match="has no command"):
        _parse(["services", "install"])


def test_jetson_first_start_check_runs_and_fails_in_one_line_here() -> None:
    """The Python the Jetson script runs before installing the service, run here: no TensorRT (and no GPU), so it
    must stop with one `error:` line, no traceback."""
    text = (REPO / "scripts" / "setup_jetson.sh").read_text()
    check = re.search(r"<<'PY'\n(.*?)\nPY\n", text, re.S)
    assert check is not None
    res = subprocess.run([sys.executable, "-c", check.group(1)], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert res.returncode == 1, res.stdout
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert "TensorRT" in res.stderr or "CUDA" in res.stderr
