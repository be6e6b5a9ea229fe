"""The board setup scripts' env file: secrets from the environment into a 0600 file the unit reads, values
round-tripping through sh quoting (spaces, quotes, #, $), never expanded."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

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
