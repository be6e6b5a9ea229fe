"""Signed bundles, as the security review attacked them: a hand-made bundle passed ``bundle verify`` (the manifest
inside the same tar vouched for itself), its id was never recomputed, and its manifest's ``env_vars`` pulled
``AWS_SECRET_ACCESS_KEY`` and ``GITHUB_TOKEN`` from the deployer's environment into the board's env file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit.deploy.bundle import bundle_env_vars, signed_parts, verify_bundle
from edgekit.deploy.rollout import board_env
from edgekit.deploy.signing import check_signature, operator_key, public_line, public_raw, trusted_keys
from edgekit.errors import EdgekitError
from tests.deploy.test_bundle import read_manifest, rewrite, small_bundle
from tests.helpers import run_cli


@pytest.fixture(autouse=True)
def operator_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own operator settings (signing key, trusted keys), never the machine's."""
    home = tmp_path / "operator"
    monkeypatch.setenv("EDGEKIT_CONFIG", str(home))
    return home


def _check(bundle: Path, extra: tuple[Path, ...] = ()) -> str:
    return check_signature(bundle, *signed_parts(bundle), trusted_keys(extra))


def test_a_bundle_signed_with_the_operators_key_passes(tmp_path: Path, operator_home: Path) -> None:
    key, made = operator_key()
    assert made and (operator_home / "signing" / "bundle.key").stat().st_mode & 0o777 == 0o600
    assert operator_key()[1] is False  # made once, then reused
    b = small_bundle(tmp_path, key=key)
    verify_bundle(b)
    assert _check(b) == public_line(public_raw(key)).split()[2]


def test_unsigned_foreign_and_tampered_bundles_are_refused(tmp_path: Path) -> None:
    operator_key()
    unsigned = small_bundle(tmp_path / "u")
    with pytest.raises(EdgekitError, match=r"is not signed.*--insecure-unsigned"):
        _check(unsigned)
    stranger, _ = operator_key(tmp_path / "stranger.key")
    foreign = small_bundle(tmp_path / "f", key=stranger)
    with pytest.raises(EdgekitError, match="which you do not trust"):
        _check(foreign)
    (tmp_path / "stranger.pub").write_text(public_line(public_raw(stranger)))
    assert _check(foreign, (tmp_path / "stranger.pub",))  # trusted once the operator says so
    signed = small_bundle(tmp_path / "s", key=operator_key()[0])
    m = read_manifest(signed)
    m["device"] = "someone-else"  # the manifest changed after signing (files untouched, so verify alone passes)
    tampered = rewrite(signed, tmp_path / "t.tar.gz", {"manifest.json": json.dumps(m).encode()})
    verify_bundle(tampered)
    with pytest.raises(EdgekitError, match="signature does not match"):
        _check(tampered)


def test_verify_recomputes_the_id(tmp_path: Path) -> None:
    b = small_bundle(tmp_path, key=operator_key()[0])
    m = read_manifest(b)
    m["id"] = m["id"][:-8] + "00000000"
    with pytest.raises(EdgekitError, match="does not match its files"):
        verify_bundle(rewrite(b, tmp_path / "id.tar.gz", {"manifest.json": json.dumps(m).encode()}))


def test_env_vars_come_from_the_config_placeholders_not_the_manifest(tmp_path: Path) -> None:
    config = "device: x\nmqtt: {password: '{MQTT_PASSWORD}'}\ncameras: {a: {source: synthetic}}\n"
    b = small_bundle(tmp_path, config=config, env_vars=["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "MQTT_PASSWORD"])
    assert bundle_env_vars(b) == ["MQTT_PASSWORD"]
    environ = {"AWS_SECRET_ACCESS_KEY": "aws", "GITHUB_TOKEN": "gh", "MQTT_PASSWORD": "pw"}
    assert board_env(bundle_env_vars(b), None, environ=environ) == {"MQTT_PASSWORD": "pw"}


def test_deploy_refuses_an_unsigned_bundle_in_one_line_before_any_board(tmp_path: Path,
                                                                        operator_home: Path) -> None:
    unsigned = small_bundle(tmp_path)
    env = {"EDGEKIT_CONFIG": str(operator_home)}
    r = run_cli("deploy", str(unsigned), "ssh://nobody@127.0.0.1:1", env=env, timeout=120)
    assert r.returncode == 2 and "is not signed" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_cli("deploy", str(unsigned), "ssh://nobody@127.0.0.1:1", "--insecure-unsigned", env=env, timeout=120)
    assert "not signed" not in r.stderr and "--insecure-unsigned" in r.stdout  # past the check, then no board
    r = run_cli("bundle", "verify", str(unsigned), env=env, timeout=120)
    assert r.returncode == 2 and "is not signed" in r.stderr


def test_a_config_changed_after_bundling_is_refused_before_it_is_read(tmp_path: Path) -> None:
    b = small_bundle(tmp_path, key=operator_key()[0])
    changed = rewrite(b, tmp_path / "changed.tar.gz", {"config.yaml": b"# edited\nnot: [a mapping\n"})
    with pytest.raises(EdgekitError, match=r"config\.yaml changed since it was bundled \(sha256 mismatch\)"):
        bundle_env_vars(changed)
