"""A real Home Assistant core for the tests: its own venv (``.venv-ha``, scripts/install_ha.sh), a prepared config dir,
a free loopback port.

Nothing goes through the UI. The config dir gets:

- ``configuration.yaml``: only ``http`` (loopback, the chosen port), ``api`` and a logger that keeps MQTT's
  messages; no ``default_config`` (its cloud, discovery and the like want a network). Home Assistant still sets up
  its built-in defaults (frontend, person, automation ...), which all work offline.
- ``.storage/core.config_entries``: one MQTT entry pointing at the test's Mosquitto, discovery on.
- ``.storage/auth``: an owner in the admin group with a long-lived access token's refresh token (the record Home
  Assistant itself writes when a user creates one). The access token is that refresh token's JWT, signed with its
  key by the PyJWT of Home Assistant's venv, as ``AuthManager.async_create_access_token`` does.

``hass --skip-pip`` installs nothing at run time: install_ha.sh put every requirement into the venv.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port, wait_port
from tests.helpers import wait_until

REPO = Path(__file__).resolve().parents[2]
HA_VENV = Path(os.environ.get("EDGEKIT_HA_VENV") or REPO / ".venv-ha")  # the variable: a venv made elsewhere
HA_PYTHON = HA_VENV / "bin" / "python"


def _storage(key: str, data: dict[str, Any], version: int = 1, minor_version: int = 1) -> str:
    return json.dumps({"version": version, "minor_version": minor_version, "key": key, "data": data}, indent=1)


class HomeAssistant:
    """A Home Assistant process on ``127.0.0.1:port`` whose MQTT integration uses the broker on ``broker_port``."""

    def __init__(self, workdir: Path, broker_port: int) -> None:
        self.dir = workdir
        self.port = free_port()
        self.broker_port = broker_port
        self.log_path = workdir / "home-assistant.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = self._prepare()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30.0,
                                 headers={"Authorization": f"Bearer {self.token}"})

    def _prepare(self) -> str:
        """Write the config dir; return the owner's access token."""
        storage = self.dir / ".storage"
        storage.mkdir(parents=True)
        (self.dir / "configuration.yaml").write_text(
            "homeassistant:\n  name: edgekit-test\n  latitude: 0\n  longitude: 0\n  elevation: 0\n"
            "  unit_system: metric\n  time_zone: UTC\n  currency: EUR\n  country: DE\n"
            f"http:\n  server_host: 127.0.0.1\n  server_port: {self.port}\n"
            "api:\n"
            "logger:\n  default: warning\n  logs:\n    homeassistant.components.mqtt: info\n"
        )
        entry = {"entry_id": uuid.uuid4().hex, "version": 1, "minor_version": 1, "domain": "mqtt",
                 "title": "127.0.0.1", "data": {"broker": "127.0.0.1", "port": self.broker_port, "discovery": True},
                 "options": {}, "pref_disable_new_entities": False, "pref_disable_polling": False,
                 "source": "user", "unique_id": None, "disabled_by": None}
        (storage / "core.config_entries").write_text(_storage("core.config_entries", {"entries": [entry]}))
        user_id, token_id, jwt_key = uuid.uuid4().hex, uuid.uuid4().hex, secrets.token_hex(64)
        ten_years_s = 10 * 365 * 86400.0
        auth = {
            "users": [{"id": user_id, "group_ids": ["system-admin"], "is_owner": True, "is_active": True,
                       "name": "edgekit test", "system_generated": False, "local_only": False}],
            "groups": [{"id": "system-admin", "name": "Administrators"},
                       {"id": "system-users", "name": "Users"},
                       {"id": "system-read-only", "name": "Read Only"}],
            "credentials": [],
            "refresh_tokens": [{
                "id": token_id, "user_id": user_id, "client_id": None, "client_name": "edgekit tests",
                "client_icon": None, "token_type": "long_lived_access_token",
                "created_at": "2026-01-01T00:00:00+00:00", "access_token_expiration": ten_years_s,
                "token": secrets.token_hex(64), "jwt_key": jwt_key, "last_used_at": None, "last_used_ip": None,
                "expire_at": None, "credential_id": None, "version": None,
            }],
        }
        (storage / "auth").write_text(_storage("auth", auth))
        mint = ("import jwt, sys, time; now = int(time.time()); "
                "print(jwt.encode({'iss': sys.argv[1], 'iat': now, 'exp': now + int(float(sys.argv[3]))}, "
                "sys.argv[2], algorithm='HS256'))")
        out = subprocess.run([str(HA_PYTHON), "-c", mint, token_id, jwt_key, str(ten_years_s)],
                             capture_output=True, text=True, check=True, timeout=60)
        return out.stdout.strip()

    def start(self, timeout: float = 240.0) -> None:
        """Start ``hass`` and wait for the REST API (with the token) and the MQTT integration."""
        self.proc = subprocess.Popen(
            [str(HA_PYTHON), "-m", "homeassistant", "--config", str(self.dir), "--skip-pip", "--log-no-color",
             "--log-file", str(self.log_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")})

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, f"hass exited: {self.log_tail()}"
            # without its frontend (a requirement missing from install_ha.sh) it runs on, but without MQTT
            assert "Activating recovery mode" not in self.log(), f"hass is in recovery mode: {self.log_tail()}"
            return True

        wait_until(lambda: up() and self._answers(), timeout, 0.5, what=lambda: f"Home Assistant's API: "
                   f"{self.log_tail()}")
        wait_until(lambda: "mqtt" in self.get("/api/config")["components"], timeout, 0.5,
                   what=lambda: f"the MQTT integration: {self.log_tail()}")

    def _answers(self) -> bool:
        try:
            status = self.http.get("/api/").status_code
        except httpx.HTTPError:
            return False  # not listening yet
        assert status < 500, f"Home Assistant's API answers {status}: {self.log_tail()}"
        return status == 200

    def get(self, path: str) -> Any:
        r = self.http.get(path)
        r.raise_for_status()
        return r.json()

    def state(self, entity_id: str) -> str | None:
        """An entity's state, None while Home Assistant does not know it."""
        r = self.http.get(f"/api/states/{entity_id}")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return str(r.json()["state"])

    def template(self, template: str) -> str:
        """Render a template in Home Assistant (the REST way to its device and entity registries)."""
        r = self.http.post("/api/template", json={"template": template})
        r.raise_for_status()
        return r.text

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def mqtt_errors(self) -> list[str]:
        """The MQTT integration's errors and warnings so far (a discovery payload it refuses is one)."""
        return [ln for ln in self.log().splitlines()
                if "[homeassistant.components.mqtt" in ln and (" ERROR " in ln or " WARNING " in ln)]

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def stop(self) -> None:
        self.http.close()
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        wait_port(self.port, up=False)
