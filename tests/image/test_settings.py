"""The first-boot settings file: the template the image ships is valid, a bad key or value is one line with its
YAML line, and the first-boot step applies a good file into a root (here a folder) or applies nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgekit.errors import EdgekitError
from edgekit.image.firstboot import BASE, NEEDED, run
from edgekit.image.settings import ERROR_FILENAME, parse_settings, template

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl you@desktop"
GOOD = f"""\
hostname: porch
ssh_authorized_keys:
  - {KEY}
wifi: {{country: GB, ssid: "home net", psk: "correct horse"}}
env: {{MQTT_PASSWORD: "s3cret 'quoted'"}}
"""


def test_the_shipped_template_parses_and_asks_for_the_secrets() -> None:
    assert parse_settings(template([]), "t").hostname == "edgekit"
    with pytest.raises(EdgekitError, match=r"env: the config needs MQTT_PASSWORD \(set, not empty\)"):
        parse_settings(template(["MQTT_PASSWORD"]), "t", ["MQTT_PASSWORD"])


@pytest.mark.parametrize(("text", "line"), [
    ("hostname: porch\nwifi:\n  country: GB\n  ssid: x\n  pks: '12345678'\n",
     "invalid settings s.yaml:5: wifi.pks: unknown key 'pks'"),
    ("hostname: porch\nhostnme: x\n", "invalid settings s.yaml:2: hostnme: unknown key 'hostnme'"),
    ("hostname: Porch_1\n", "invalid settings s.yaml:1: hostname: use 1-63 lowercase letters"),
    ("hostname: p\nssh_authorized_keys: [hunter2]\n", "invalid settings s.yaml:2: ssh_authorized_keys: not an "
     "OpenSSH public key line"),
    ("hostname: p\nwifi: {country: gb, ssid: x, psk: '12345678'}\n", "invalid settings s.yaml:2: wifi.country:"),
    ("hostname: p\nenv: {'A=1;reboot': x}\n", "invalid settings s.yaml:2: env: 'A=1;reboot' is not a variable"),
    ("hostname: [p\n", "invalid settings s.yaml:2:"),
])
def test_a_bad_settings_file_is_one_line_naming_key_and_line(text: str, line: str) -> None:
    with pytest.raises(EdgekitError) as e:
        parse_settings(text, "s.yaml")
    assert str(e.value).startswith(line) and "\n" not in str(e.value)


def fake_root(tmp_path: Path) -> tuple[Path, Path]:
    """A folder shaped like the image's root: the deploy base with `current` -> a release, the FAT mount."""
    root = tmp_path / "root"
    release = root / BASE / "releases/r1"
    release.mkdir(parents=True)
    (root / BASE / "current").symlink_to("releases/r1")
    (root / "etc").mkdir()
    (root / NEEDED).parent.mkdir(parents=True)
    (root / NEEDED).write_text("MQTT_PASSWORD\n")
    boot = root / "boot/firmware"
    boot.mkdir(parents=True)
    return root, boot


def test_first_boot_applies_a_good_file_once_and_deletes_it(tmp_path: Path) -> None:
    root, boot = fake_root(tmp_path)
    (boot / "edgekit-settings.yaml").write_text(GOOD)
    assert run(boot / "edgekit-settings.yaml", root) == 0
    assert not (boot / "edgekit-settings.yaml").exists()
    assert (root / "etc/hostname").read_text() == "porch\n"
    assert "127.0.1.1\tporch" in (root / "etc/hosts").read_text()
    keys = root / "home/edgekit/.ssh/authorized_keys"
    assert keys.read_text() == KEY + "\n" and oct(keys.stat().st_mode & 0o777) == "0o600"
    wpa = (root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf").read_text()
    assert 'ssid="home net"' in wpa and "country=GB" in wpa
    wants = root / "etc/systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service"
    assert os.readlink(wants) == "/lib/systemd/system/wpa_supplicant@.service"
    env = root / BASE / "releases/r1/edgekit.env"
    assert oct(env.stat().st_mode & 0o777) == "0o600"
    # read back by sh exactly as the service's EnvironmentFile and board.sh read it
    out = os.popen(f"set -a; . '{env}'; printf '%s|%s' \"$MQTT_PASSWORD\" \"$EDGEKIT_DEVICE\"").read()
    assert out == "s3cret 'quoted'|porch"


def test_first_boot_refuses_a_bad_file_applies_nothing_and_keeps_it(tmp_path: Path) -> None:
    root, boot = fake_root(tmp_path)
    bad = GOOD.replace("hostname:", "hostnme:")
    (boot / "edgekit-settings.yaml").write_text(bad)
    assert run(boot / "edgekit-settings.yaml", root) == 2
    assert (boot / "edgekit-settings.yaml").read_text() == bad  # kept for fixing
    assert "unknown key 'hostnme'" in (boot / ERROR_FILENAME).read_text()
    assert not (root / "etc/hostname").exists() and not (root / BASE / "releases/r1/edgekit.env").exists()
    # fixed and booted again: applied, and the error note goes with the file
    (boot / "edgekit-settings.yaml").write_text(GOOD)
    assert run(boot / "edgekit-settings.yaml", root) == 0
    assert not (boot / ERROR_FILENAME).exists()


def test_first_boot_refuses_a_file_without_the_configs_secret(tmp_path: Path) -> None:
    root, boot = fake_root(tmp_path)
    (boot / "edgekit-settings.yaml").write_text("hostname: porch\n")
    assert run(boot / "edgekit-settings.yaml", root) == 2
    assert "the config needs MQTT_PASSWORD" in (boot / ERROR_FILENAME).read_text()
