"""The one ``{NAME}`` placeholder rule (``edgekit.config.env``) and the configs that use it: the daemon's, the hub's
and the bundle's list of variables a board needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgekit.config.daemon import parse_config
from edgekit.config.env import MissingEnv, env_names, fill_env
from edgekit.config.hub import load_hub_config
from edgekit.deploy.bundle import check_config_text, config_env_vars
from edgekit.errors import EdgekitError
from tests.helpers import REPO, run_cli

ENV = {"USER_1": "alice", "PW": "s3cret", "EMPTY": "", "HOLDS_BRACES": "{PW}"}

# (value in the YAML tree, what it is filled to, the variables it reads)
CASES: list[tuple[Any, Any, list[str]]] = [
    ("{USER_1}", "alice", ["USER_1"]),
    ("mqtt://{USER_1}:{PW}@host", "mqtt://alice:s3cret@host", ["PW", "USER_1"]),  # inside a longer string
    ("{PW}{PW}", "s3crets3cret", ["PW"]),
    ("{EMPTY}", "", ["EMPTY"]),  # set but empty: filled as empty
    ("{HOLDS_BRACES}", "{PW}", ["HOLDS_BRACES"]),  # a filled value is never scanned again
    ("{{PW}}", "{PW}", []),  # the escape: literal text
    ("a{{PW}}b{PW}", "a{PW}bs3cret", ["PW"]),
    ("${PW}/data", "${PW}/data", []),  # left to the file's consumer (export recipes' ${EDGEKIT_SHARED})
    ("{pw}", "{pw}", []),  # lower case: not a name
    ("{1PW}", "{1PW}", []),  # must start with a letter
    ("{_PW}", "{_PW}", []),
    ("{P-W}", "{P-W}", []),
    ("{ PW }", "{ PW }", []),
    ("{}", "{}", []),
    ("{camera} at {time}", "{camera} at {time}", []),  # rule message templates stay templates
    (1883, 1883, []),
    (None, None, []),
    (["{PW}", {"k": "{USER_1}"}], ["s3cret", {"k": "alice"}], ["PW", "USER_1"]),  # lists and nested mappings
    ({"{PW}": "key"}, {"{PW}": "key"}, []),  # keys are never filled
]


@pytest.mark.parametrize(("value", "filled", "names"), CASES)
def test_placeholder_rule(value: Any, filled: Any, names: list[str]) -> None:
    assert fill_env(value, ENV) == filled
    assert env_names(value) == names


@pytest.mark.parametrize(("tree", "loc"), [
    ({"mqtt": {"password": "x{NOT_SET_HERE}"}}, ("mqtt", "password")),
    ({"cams": [{"src": "ok"}, {"src": "{NOT_SET_HERE}"}]}, ("cams", 1, "src")),
])
def test_a_missing_variable_names_itself_and_where_it_is_used(tree: Any, loc: tuple[Any, ...]) -> None:
    with pytest.raises(MissingEnv) as e:
        fill_env(tree, {})
    assert e.value.name == "NOT_SET_HERE" and e.value.loc == loc
    assert str(e.value) == "environment variable NOT_SET_HERE is not set (used as {NOT_SET_HERE})"


def test_daemon_config_error_names_the_variable_and_its_yaml_line() -> None:
    text = "device: porch\ncameras: {a: {source: synthetic}}\nmqtt:\n  username: u\n  password: '{NOT_SET_HERE}'\n"
    with pytest.raises(EdgekitError) as e:
        parse_config(text, "porch.yaml", environ={})
    assert str(e.value) == ("invalid config porch.yaml:5: mqtt.password: environment variable NOT_SET_HERE is not "
                            "set (used as {NOT_SET_HERE})")


@pytest.mark.parametrize("text", [
    (REPO / "examples" / "daemon.yaml").read_text() + "# {ONLY_IN_A_COMMENT}: {{ESCAPED}} ${DOLLAR}\n",
    (REPO / "examples" / "porch-pi5.yaml").read_text(),
    "device: '{BOARD}-x'\ncameras:\n  front: {source: 'rtsp://{CAM_USER}:{CAM_PW}@cam/{{PATH}}'}\n",
])
def test_bundle_env_list_is_exactly_what_the_loader_fills(text: str) -> None:
    needed = config_env_vars(text, "cam.yaml")
    assert needed and not {"ONLY_IN_A_COMMENT", "ESCAPED", "DOLLAR", "PATH"} & set(needed)
    env = {n: f"v{i}" for i, n in enumerate(needed)}
    parse_config(text, "cam.yaml", environ=env)  # all of them: loads
    for n in needed:  # any one missing: the loader asks for that very one
        with pytest.raises(EdgekitError, match=rf"environment variable {n} is not set"):
            parse_config(text, "cam.yaml", environ={k: v for k, v in env.items() if k != n})
    check_config_text(text, "cam.yaml")  # the bundle's own check fills the same names with stand-ins


def test_hub_config_error_carries_its_line_and_key(tmp_path: Path) -> None:
    f = tmp_path / "hub.yaml"
    f.write_text("mqtt:\n  host: central\n  keepalive: 1\ndatabase: {dsn: 'postgresql://h@db/x'}\n")
    with pytest.raises(EdgekitError, match=rf"^invalid hub config {f}:3: mqtt\.keepalive: Input should be greater"):
        load_hub_config(f)
    f.write_text("mqtt:\n  host: central\n  password: '{HUB_PW_NOT_SET}'\ndatabase: {dsn: 'postgresql://h@db/x'}\n")
    with pytest.raises(EdgekitError, match=rf"^invalid hub config {f}:3: mqtt\.password: environment variable "
                                           "HUB_PW_NOT_SET is not set"):
        load_hub_config(f)
    f.write_text("mqtt:\n  tls: {ca_certs: /ca.pem, verify: false}\ndatabase: {dsn: 'postgresql://h@db/x'}\n")
    with pytest.raises(EdgekitError, match=rf"^invalid hub config {f}:2: mqtt\.tls\.verify: unknown key"):
        load_hub_config(f)


def test_hub_config_fills_each_placeholder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a secret that itself looks like a placeholder is used as it is, not filled a second time
    monkeypatch.setenv("HUB_TEST_PW", "{HUB_TEST_OTHER}")
    monkeypatch.delenv("HUB_TEST_OTHER", raising=False)
    f = tmp_path / "hub.yaml"
    f.write_text("mqtt: {username: hub, password: '{HUB_TEST_PW}', tls: {ca_certs: /ca.pem}}\n"
                 "database: {dsn: 'postgresql://hub:{HUB_TEST_PW}@db/hub'}\n")
    cfg = load_hub_config(f)
    assert cfg.mqtt.password == "{HUB_TEST_OTHER}"
    assert cfg.database.dsn == "postgresql://hub:{HUB_TEST_OTHER}@db/hub"
    assert cfg.mqtt.tls is not None and cfg.mqtt.tls.insecure is False  # the daemon's TLS type: verifies by default


def test_cli_lists_the_variables_a_config_reads(tmp_path: Path) -> None:
    f = tmp_path / "cam.yaml"
    f.write_text("# {NOT_READ}\nmqtt: {username: '{MQTT_USER}', password: 'x{MQTT_PASSWORD}', prefix: '${NOR_THIS}'}\n")
    r = run_cli("config", "env", str(f))
    assert r.returncode == 0 and r.stdout == "MQTT_PASSWORD\nMQTT_USER\n", r.stderr
    f.write_text("mqtt: {password: '{A}'\n")
    r = run_cli("config", "env", str(f))
    assert r.returncode == 2 and r.stderr.startswith(f"error: invalid YAML in {f}:2: ") and r.stderr.count("\n") == 1
