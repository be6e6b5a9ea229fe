"""Property-based fuzz of daemon configs (hypothesis): whatever the YAML, the loader gives a config or one
``EdgekitError`` line, never another exception; and the CLI answers exit 0 or 2 without a traceback."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgekit.config.daemon import parse_config
from edgekit.errors import EdgekitError
from tests.helpers import run_cli

BASE: dict[str, Any] = {
    "device": "fuzz",
    "cameras": {"front": {"source": "synthetic:1", "max_fps": 5,
                          "zones": {"door": {"polygon": [[0, 0], [100, 0], [100, 100], [0, 100]]}},
                          "lines": {"gate": {"start": [0, 50], "end": [100, 50]}}}},
    "rules": [{"name": "door", "labels": ["Normal"], "zone": "door", "min_frames": 3},
              {"name": "cross", "line": "gate", "direction": "in"}],
    "mqtt": {"host": "127.0.0.1", "port": 1883, "tls": {"ca_certs": "ca.pem"}},
    "pose": {"enabled": False, "min_visibility": 0.5},
    "retention": {"min_free_mb": 100},
    "metrics": {"enabled": False},
}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["{EDGEKIT_FUZZ_UNSET}", "${X}", "0.0.0.0", "-1", ""]))
values = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                      st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                      max_leaves=12)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)[1:]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    cfg = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS))
        node: Any = cfg
        try:
            for key in path[:-1]:
                node = node[key]
            action = draw(st.sampled_from(["set", "delete", "add"]))
            if action == "set":
                node[path[-1]] = draw(values)
            elif action == "delete" and isinstance(node, dict):
                node.pop(path[-1], None)
            elif isinstance(node, dict):
                node[draw(st.text(max_size=10))] = draw(values)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation changed the shape: fine, keep what we have
    text = yaml.safe_dump(cfg, allow_unicode=True)
    if draw(st.booleans()):  # sometimes not even YAML any more
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(["[", "{", ": :", "\t", "'", "*x", "&a &b"])) + text[i:]
    return text


def test_the_base_config_is_valid():
    parse_config(yaml.safe_dump(BASE))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_any_config_is_a_config_or_one_clear_line(text: str) -> None:
    try:
        parse_config(text, "fuzz.yaml")
    except EdgekitError as e:
        msg = str(e)
        assert msg and "\n" not in msg and "Traceback" not in msg


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(mutated())
def test_config_check_cli_exits_0_or_2_without_a_traceback(tmp_path_factory, text: str) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path_factory.mktemp("fuzz") / "daemon.yaml"
    f.write_text(text)
    r = run_cli("config", "check", str(f), timeout=300)
    assert r.returncode in (0, 2), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
