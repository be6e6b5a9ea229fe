"""Bundle format, lock targets, env files and per-board overrides (fast; no network, no SSH)."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from edgekit.config.daemon import parse_config
from edgekit.deploy.bundle import _write_tar, config_env_vars, content_hash, env_template, verify_bundle
from edgekit.deploy.lock import lock_text, requirements, target_for, wheel_requires
from edgekit.deploy.manifest import Manifest, ModelEntry, Target, entry_for
from edgekit.deploy.remote import SSHTarget, ssh_failure
from edgekit.deploy.rollout import board_env, env_text, read_env_file
from edgekit.device.profiles import load_profile
from edgekit.errors import EdgekitError
from edgekit.pipeline.service import board_unit_text


def small_bundle(tmp: Path, config: str = "device: x\ncameras: {a: {source: synthetic}}\n", key: Any = None,
                 **manifest: Any) -> Path:
    """A bundle made by hand (no wheels resolved): ``key`` signs it, ``manifest`` overrides manifest fields."""
    stage = tmp / "stage"
    (stage / "wheels").mkdir(parents=True)
    (stage / "config.yaml").write_text(config)
    (stage / "wheels" / "edgekit-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    files = {p.relative_to(stage).as_posix(): entry_for(p) for p in sorted(stage.rglob("*")) if p.is_file()}
    m = Manifest(id=f"20260101T000000Z-{content_hash(files)}", created="2026-01-01T00:00:00+00:00", profile="rpi5", device="x",
                 edgekit_version="0.1.0", edgekit_wheel="wheels/edgekit-0.1.0-py3-none-any.whl",
                 target=Target(platform="manylinux_2_35_aarch64", machine="aarch64", python="3.11",
                               system_site_packages=True),
                 model=ModelEntry(card="m", file="wheel:m.onnx", backend="onnxruntime", precision="fp32"),
                 files=files, **manifest)
    out = tmp / "b.tar.gz"
    _write_tar(out, stage, m, key)
    return out


def read_manifest(bundle: Path) -> dict[str, Any]:
    with tarfile.open(bundle) as t:
        f = t.extractfile("manifest.json")
        assert f is not None
        return dict(json.load(f))


def rewrite(src: Path, dst: Path, change: dict[str, bytes | None], add: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz") as tout:
        for m in tin:
            f = tin.extractfile(m)
            body = f.read() if f is not None else b""
            if m.name in change:
                new = change[m.name]
                if new is None:
                    continue
                body, m.size = new, len(new)
            tout.addfile(m, io.BytesIO(body))
        for name, body in (add or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tout.addfile(info, io.BytesIO(body))
    return dst


def test_verify_accepts_the_bundle_and_names_each_problem(tmp_path: Path) -> None:
    b = small_bundle(tmp_path)
    assert verify_bundle(b).profile == "rpi5"
    cases = {
        "changed": ({"config.yaml": b"device: y\n"}, None, "config.yaml changed since it was bundled (sha256"),
        "missing": ({"config.yaml": None}, None, "missing, e.g. config.yaml"),
        "extra": ({}, {"evil.sh": b"x"}, "evil.sh is not listed"),
        "unsafe": ({}, {"../escape": b"x"}, "unsafe member '../escape'"),
        "nomanifest": ({"manifest.json": None}, None, "no manifest.json"),
    }
    for name, (change, add, want) in cases.items():
        with pytest.raises(EdgekitError, match=None) as e:
            verify_bundle(rewrite(b, tmp_path / f"{name}.tar.gz", change, add))
        assert want in str(e.value), (name, str(e.value))
    m = read_manifest(b)
    m["format"] = "edgekit-bundle/99"
    with pytest.raises(EdgekitError, match="format 'edgekit-bundle/99'"):
        verify_bundle(rewrite(b, tmp_path / "fmt.tar.gz", {"manifest.json": json.dumps(m).encode()}))
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(EdgekitError, match="not a gzipped tar"):
        verify_bundle(tmp_path / "junk.tar.gz")


def test_board_targets_keep_numpy1_and_system_opencv() -> None:
    rpi = target_for(load_profile("rpi5"))
    assert (rpi.machine, rpi.python, rpi.system_site_packages) == ("aarch64", "3.11", True)
    reqs = requirements(rpi)
    assert "numpy<2,>=1.24" in reqs or "numpy>=1.24,<2" in reqs
    assert not any(r.startswith("opencv") for r in reqs) and any(r.startswith("paho-mqtt") for r in reqs)
    jet = target_for(load_profile("jetson-orin-nano"))
    assert jet.machine == "aarch64" and jet.system_site_packages
    plain = target_for(load_profile("rpi5"), system_site=False)
    assert any(r.startswith("opencv-python-headless") for r in requirements(plain))
    with pytest.raises(EdgekitError, match=r"MAJOR\.MINOR"):
        target_for(load_profile("rpi5"), python="3")


def test_requirements_come_from_the_shipped_wheel(tmp_path: Path) -> None:
    """The lock follows the wheel being bundled, not an installed edgekit whose metadata may be older."""
    w = tmp_path / "edgekit-9.9-py3-none-any.whl"
    meta = ("Metadata-Version: 2.3\nName: edgekit\nVersion: 9.9\nRequires-Dist: numpy>=1.24\n"
            "Requires-Dist: only-in-this-wheel>=1; extra == 'daemon'\nRequires-Dist: not-wanted; extra == 'dev'\n")
    with zipfile.ZipFile(w, "w") as z:
        z.writestr("edgekit/__init__.py", "")
        z.writestr("edgekit-9.9.dist-info/METADATA", meta)
    raw = wheel_requires(w)
    assert len(raw) == 3
    reqs = requirements(target_for(load_profile("rpi5")), raw=raw)
    assert "only-in-this-wheel>=1" in reqs and not any(r.startswith("not-wanted") for r in reqs)
    (tmp_path / "bad.whl").write_bytes(b"not a zip")
    with pytest.raises(EdgekitError, match="not a wheel"):
        wheel_requires(tmp_path / "bad.whl")


def test_lock_pins_versions_and_hashes(tmp_path: Path) -> None:
    w = tmp_path / "numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    w.write_bytes(b"x")
    text, pkgs = lock_text([w])
    assert pkgs == {"numpy": "1.26.4"}
    assert "numpy==1.26.4 --hash=sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881" in text


def test_env_file_template_and_board_overrides(tmp_path: Path) -> None:
    text = "device: porch\nmqtt: {username: '{MQTT_USER}', password: '{MQTT_PASSWORD}'}\ncameras: {a: {source: x}}"
    assert config_env_vars(text) == ["MQTT_PASSWORD", "MQTT_USER"]
    tmpl = env_template(["MQTT_PASSWORD"])
    assert "MQTT_PASSWORD=\n" in tmpl and "EDGEKIT_DEVICE=" in tmpl
    f = tmp_path / "s.env"
    f.write_text("# secrets\nMQTT_USER=u\nexport MQTT_PASSWORD='p w#x' # comment\n")
    assert read_env_file(f) == {"MQTT_USER": "u", "MQTT_PASSWORD": "p w#x"}
    f.write_text("oops\n")
    with pytest.raises(EdgekitError, match=r"s\.env:1: expected KEY=value"):
        read_env_file(f)
    with pytest.raises(EdgekitError, match="uses MQTT_PASSWORD"):
        board_env(["MQTT_PASSWORD"], None, environ={})
    env = board_env(["MQTT_PASSWORD"], None, {"EDGEKIT_DEVICE": "b2"}, environ={"MQTT_PASSWORD": "it's"})
    assert env == {"MQTT_PASSWORD": "it's", "EDGEKIT_DEVICE": "b2"}
    assert env_text(env) == "MQTT_PASSWORD='it'\"'\"'s'\nEDGEKIT_DEVICE='b2'\n"


def test_config_takes_device_client_id_and_camera_from_the_board_env(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "device: porch\ncameras: {front-door: {source: usb:0}}\n"
    monkeypatch.setenv("EDGEKIT_DEVICE", "garage")
    monkeypatch.setenv("EDGEKIT_MQTT_CLIENT_ID", "edgekit-garage")
    monkeypatch.setenv("EDGEKIT_CAMERA_FRONT_DOOR", "rtsp://cam/1")
    cfg = parse_config(text)
    assert cfg.device == "garage" and cfg.mqtt is not None and cfg.mqtt.client_id == "edgekit-garage"
    assert cfg.cameras["front-door"].source == "rtsp://cam/1"
    assert parse_config(text + "mqtt: null\n").mqtt is None


def test_board_unit_runs_current_with_env_file_and_restarts_all_but_config_errors() -> None:
    unit = board_unit_text()
    for line in ("EnvironmentFile=%h/edgekit/current/edgekit.env", "Restart=always", "RestartPreventExitStatus=2",
                 "ExecStart=%h/edgekit/current/venv/bin/edgekit run --config %h/edgekit/current/config.yaml",
                 "Environment=EDGEKIT_STATE=%h/edgekit/state EDGEKIT_CACHE=%h/edgekit/cache PYTHONUNBUFFERED=1", "UMask=0077"):
        assert line in unit.splitlines(), line


def test_ssh_targets_and_errors() -> None:
    t = SSHTarget.parse("ssh://pi@board.local:2222", ["-i", "k"])
    assert t.name == "pi@board.local:2222"
    assert t.ssh_argv()[-5:] == ["pi", "-i", "k", "--", "board.local"]
    with pytest.raises(EdgekitError, match="ssh://user@host"):
        SSHTarget.parse("http://x")
    assert "refused the SSH key" in ssh_failure("pi@x: Permission denied (publickey).")
    assert "unreachable" in ssh_failure("ssh: connect to host x port 22: Connection refused")
    assert "host key verification failed" in ssh_failure("Host key verification failed.")


def test_bundle_ships_the_profiles_export_in_the_cache_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from edgekit.deploy.bundle import choose_model
    from edgekit.device.artifacts import artifact_name, export_dir
    from edgekit.device.modelcards import load_card, resolve_model_path
    from edgekit.device.plan import source_sha256

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    cfg = parse_config("cameras: {a: {source: synthetic}}\n")
    rpi5 = load_profile("rpi5")
    entry, path = choose_model(cfg, rpi5)
    assert path is None and entry.file == "wheel:yolov8s-fall.onnx" and "edgekit export --profile rpi5" in entry.note
    card = load_card("yolov8s-fall")
    sha = source_sha256(card, resolve_model_path(card))
    rt = rpi5.runtime
    variant = export_dir(sha, "calib-abc") / artifact_name("yolov8s-fall", rt.imgsz, rt.precision, rt.backend)
    variant.parent.mkdir(parents=True)
    variant.write_bytes(b"onnx")
    entry, path = choose_model(cfg, rpi5)
    assert path == variant and entry.precision == rt.precision
    assert entry.file == f"cache/exports/{sha[:16]}/calib-abc/{variant.name}"
    jetson = load_profile("jetson-orin-nano")
    entry, _ = choose_model(cfg, jetson)
    assert "built on the board" in entry.note
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.onnx").write_bytes(b"x")
    entry, path = choose_model(parse_config("model: models/mine.onnx\ncameras: {a: {source: synthetic}}\n"), rpi5,
                               tmp_path)
    assert entry.file == "models/mine.onnx" and path == tmp_path / "models" / "mine.onnx"
    with pytest.raises(EdgekitError, match="relative to the config"):
        choose_model(parse_config("model: /abs/mine.onnx\ncameras: {a: {source: synthetic}}\n"), rpi5)


def test_an_openvino_ir_ships_with_its_weights(tmp_path: Path) -> None:
    from edgekit.deploy.bundle import choose_model, copy_model

    (tmp_path / "models").mkdir()
    for name, body in (("mine.xml", b"<net/>"), ("mine.bin", b"weights")):
        (tmp_path / "models" / name).write_bytes(body)
    cfg = parse_config("model: models/mine.xml\ncameras: {a: {source: synthetic}}\n")
    entry, path = choose_model(cfg, load_profile("desktop"), tmp_path)
    assert entry.file == "models/mine.xml" and path == tmp_path / "models" / "mine.xml"
    copy_model(path, tmp_path / "stage" / entry.file)
    assert sorted(p.name for p in (tmp_path / "stage" / "models").iterdir()) == ["mine.bin", "mine.xml"]
    assert (tmp_path / "stage" / "models" / "mine.bin").read_bytes() == b"weights"


def test_a_board_bundle_gets_the_runtime_not_the_converters() -> None:
    """An OpenVINO IR or an ncnn graph adds its runtime's extra to the board's lock: never NNCF (which pulls scipy
    and scikit-learn), pnnx or torch, which only the exporting machine needs."""
    import tomllib

    from edgekit.backends import runtime_for_file

    extras = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any(r.startswith("nncf") for r in extras["openvino"])  # the exporting machine's extra has it
    for model, runtime in (("m.xml", "openvino"), ("m-320_fp16.ncnn.param", "ncnn")):
        needs = runtime_for_file(model).extra
        assert needs is not None and [r.split(">")[0] for r in extras[needs]] == [runtime]


def test_lock_follows_the_shipped_wheel_not_a_stale_install(tmp_path: Path) -> None:
    """The requirements come from the wheel that ships (an editable install's metadata can lag pyproject.toml)."""
    import zipfile

    whl = tmp_path / "edgekit-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("edgekit-9.9.9.dist-info/METADATA",
                   "Metadata-Version: 2.1\nName: edgekit\nVersion: 9.9.9\nRequires-Dist: numpy>=1.24\n"
                   "Requires-Dist: lapx>=0.5.10; extra == 'daemon'\nRequires-Dist: torch; extra == 'export'\n")
    plain = target_for(load_profile("desktop"), "x86_64", "3.11", False)
    assert requirements(plain, ("daemon",), wheel_requires(whl)) == ["numpy>=1.24", "lapx>=0.5.10"]
