"""The board setup scripts: their env file (secrets from the environment into a 0600 file the unit reads, values
round-tripping through sh quoting: spaces, quotes, #, $, never expanded), the edgekit command lines they run or name
(parsed by the real CLI), and the Jetson script's first-start check."""

from __future__ import annotations

import importlib
import itertools
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edgekit.cli import main as cli_main
from edgekit.export.formats import FORMATS

REPO = Path(__file__).resolve().parents[2]
SECRET = "p a's$HOME #x`id`"


def test_write_env_file_round_trips_secrets_with_mode_0600(tmp_path: Path) -> None:
    cfg = tmp_path / "d.yaml"
    # a placeholder in a comment or as ${NAME} is not one the config reads: not asked for
    cfg.write_text("# {NOT_READ}\n"
                   "mqtt: {username: '{MQTT_USER}', password: '{MQTT_PASSWORD}', client_id: '${NOR_THIS}'}\n")
    env_file = tmp_path / "etc" / "edgekit.env"
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    edgekit = tmp_path / "edgekit"  # the board's installed command, as the setup scripts pass it: this tree's
    edgekit.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m edgekit.cli.main "$@"\n')
    edgekit.chmod(0o755)
    script = f'. {REPO}/scripts/board_env.sh; write_env_file "$1" "$2" "$3" {edgekit}'
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
CALL = re.compile(r'bin/edgekit"?[ \t]+([^;&|\n]+)')  # "$VENV/bin/edgekit" service install --config "$CONFIG" ...
NAMED = re.compile(r"\\?`edgekit ([^`\\]+)\\?`")  # `edgekit export MODEL --to tensorrt` in a comment or message


def _edgekit_lines(script: Path) -> list[tuple[list[str], bool]]:
    """Every edgekit command line ``script`` runs (True) or names to the reader (False), as its argument list (a
    named one may leave out required options: ``--help`` does not ask for them)."""
    text = script.read_text().replace("\\\n", " ")
    return [(shlex.split(m), True) for m in CALL.findall(text)] + [(shlex.split(m), False) for m in NAMED.findall(text)]


def _cli() -> typer.Typer:
    """The real CLI: every command group registered, as ``edgekit`` does."""
    app = typer.Typer()
    for name in cli_main.COMMANDS:
        importlib.import_module(name).register(app)
    return app


def _usage_error(app: typer.Typer, argv: list[str]) -> str | None:
    """Why the CLI rejects ``argv`` (an unknown command or option, or an export target or profile that does not
    exist), or None. ``--help`` stops before the command runs; its options are still parsed first."""
    res = CliRunner().invoke(app, [*argv, "--help"])
    if res.exit_code != 0:
        return f"exit {res.exit_code}: {' '.join(res.output.split())[-200:]}"
    values = dict(itertools.pairwise(argv))
    if "--to" in values and values["--to"] not in FORMATS:
        return f"--to {values['--to']}: not an export target ({', '.join(FORMATS)})"
    if "--profile" in values and not (REPO / "devices" / f"{values['--profile']}.yaml").is_file():
        return f"--profile {values['--profile']}: no such device profile"
    return None


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_setup_scripts_name_only_commands_and_options_the_cli_has(script: Path) -> None:
    subprocess.run(["bash", "-n", str(script)], check=True)
    lines = _edgekit_lines(script)
    assert any(a[:2] == ["service", "install"] and runs for a, runs in lines), lines  # the extraction is alive
    app = _cli()
    assert {" ".join(a): _usage_error(app, a) for a, _ in lines} == {" ".join(a): None for a, _ in lines}


def test_a_command_option_or_target_that_does_not_exist_is_caught() -> None:
    app = _cli()
    assert "No such option" in str(_usage_error(app, ["service", "install", "--config", "d.yaml", "--env", "x"]))
    assert "No such command" in str(_usage_error(app, ["services", "install"]))
    assert "not an export target" in str(_usage_error(app, shlex.split("export MODEL --to engine")))
    assert "no such device profile" in str(_usage_error(app, shlex.split("export M --to tensorrt --profile orin")))
    assert _usage_error(app, shlex.split("export MODEL --to tensorrt --profile jetson-orin-nano")) is None


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


@pytest.mark.parametrize("on_pi_os", [False, True], ids=["plain-debian", "raspberry-pi-os"])
def test_setup_rpi_installs_picamera2_only_where_apt_has_it(tmp_path: Path, on_pi_os: bool) -> None:
    """scripts/pi_camera.sh (sourced by setup_rpi.sh) with stand-ins for ``apt-cache`` (answers as Raspberry Pi OS
    or plain Debian does) and ``apt-get`` (records its arguments): plain Debian gets one line and no install, never
    an error. The real apt run is tests/deploy/test_vm_setup_rpi.py (heavy)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-get.calls"
    (bin_dir / "apt-cache").write_text(f"#!/bin/sh\nexit {0 if on_pi_os else 100}\n")
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    res = subprocess.run(["bash", "-c", f'set -euo pipefail; . {REPO}/scripts/pi_camera.sh; install_picamera2'],
                         capture_output=True, text=True, env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert res.returncode == 0, res.stderr
    if on_pi_os:
        assert calls.read_text().split() == ["install", "-y", "python3-picamera2", "python3-libcamera",
                                             "libcamera-apps-lite"]
        assert res.stderr == ""
    else:
        assert not calls.exists()
        lines = res.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("note: python3-picamera2 is not in this system's apt"), lines
        assert "usb:N" in lines[0] and "RTSP" in lines[0]
