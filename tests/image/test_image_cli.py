"""``edgekit image`` refuses what it cannot build with one line and exit 2, before anything slow runs."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_cli


def refused(*args: str) -> str:
    r = run_cli("image", *args, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr.strip()


def test_jetson_has_no_image_and_is_told_to_use_sdk_manager() -> None:
    line = refused("--profile", "jetson-orin-nano", "-c", "examples/daemon.yaml")
    assert "NVIDIA SDK Manager" in line and "edgekit deploy" in line


def test_rpi5_is_refused_naming_what_to_flash_instead() -> None:
    line = refused("--profile", "rpi5", "-c", "examples/daemon.yaml")
    assert "BCM2712" in line and "Raspberry Pi OS" in line


def test_a_size_too_small_for_any_root_is_refused(tmp_path: Path) -> None:
    line = refused("--profile", "rpi4", "-c", "examples/daemon.yaml", "--size", "600M", "-o",
                   str(tmp_path / "x.img"))
    assert line == "error: --size is too small: 600 MiB, the image needs at least 1024 MiB"
    assert not (tmp_path / "x.img").exists()


def test_a_bad_settings_file_is_refused_at_build_and_by_check_settings(tmp_path: Path) -> None:
    s = tmp_path / "edgekit-settings.yaml"
    s.write_text("hostname: porch\nwif: {}\n")
    assert refused("--profile", "rpi4", "-c", "examples/daemon.yaml", "--settings", str(s)) == \
        f"error: invalid settings {s}:2: wif: unknown key 'wif'"
    assert refused("check-settings", str(s)) == f"error: invalid settings {s}:2: wif: unknown key 'wif'"
    s.write_text("hostname: porch\n")
    ok = run_cli("image", "check-settings", str(s))
    assert ok.returncode == 0 and "hostname porch" in ok.stdout
