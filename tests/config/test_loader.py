"""One YAML loader for the daemon config, device profiles, model cards and export recipes: YAML line numbers in
every error, ``{ENV}`` placeholders filled from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.device.modelcards import load_card
from edgekit.device.profiles import load_profile
from edgekit.errors import EdgekitError
from edgekit.export.recipe import load_recipe, recipe_paths
from tests.helpers import REPO


def test_profile_error_names_the_yaml_line(tmp_path: Path) -> None:
    text = (REPO / "devices" / "rpi5.yaml").read_text()
    lines = text.splitlines()
    n = next(i for i, ln in enumerate(lines) if ln.strip().startswith("threads:")) + 1
    f = tmp_path / "board.yaml"
    f.write_text(text.replace("threads:", "threds:", 1))
    with pytest.raises(EdgekitError, match=rf"invalid device profile {f}:{n}: runtime\.threds: unknown key") as e:
        load_profile(f)
    assert "\n" not in str(e.value)


def test_profile_and_card_fill_env_placeholders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEKIT_TEST_BOARD", "my-board")
    f = tmp_path / "board.yaml"
    f.write_text((REPO / "devices" / "rpi5.yaml").read_text().replace("name: rpi5", "name: \"{EDGEKIT_TEST_BOARD}\"", 1))
    assert load_profile(f).name == "my-board"
    card_text = (REPO / "models" / "yolov8s-fall.yaml").read_text()
    card = tmp_path / "card.yaml"
    card.write_text(card_text.replace("name: yolov8s-fall", "name: \"{EDGEKIT_TEST_BOARD}-det\"", 1))
    assert load_card(card).name == "my-board-det"
    card.write_text(card_text.replace("name: yolov8s-fall", "name: \"{EDGEKIT_NOT_SET_HERE}\"", 1))
    with pytest.raises(EdgekitError, match=r"card\.yaml:\d+: name: environment variable EDGEKIT_NOT_SET_HERE is not set"):
        load_card(card)


def test_recipe_keeps_its_own_dollar_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEKIT_SHARED", "/somewhere/shared")
    recipe, base = load_recipe("yolov8s-fall-onnx")
    assert recipe_paths(recipe, base)["val"] == Path("/somewhere/shared/data")


def test_recipe_error_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_text("name: r\nmodel: m.onnx\ntargets: [{to: onnx}]\nprecison: int8\n")
    with pytest.raises(EdgekitError, match=r"invalid export recipe .*r\.yaml:4: precison: unknown key"):
        load_recipe(f)


def test_a_key_with_a_newline_in_it_is_quoted_and_the_error_stays_one_line() -> None:
    from edgekit.config.daemon import parse_config

    # found by the config fuzz on the CI machine: a camera named "\n\n  " put a newline into the error
    text = "device: x\ncameras:\n  ? '\n\n    '\n  : null\n"
    with pytest.raises(EdgekitError) as e:
        parse_config(text)
    assert "\n" not in str(e.value) and "cameras.'\\n" in str(e.value)
