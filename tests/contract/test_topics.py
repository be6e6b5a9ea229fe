"""Topics have one home: no module but ``contract/topics.py`` spells an MQTT topic."""

from __future__ import annotations

import ast

from tests.helpers import REPO

TOPIC_ENDINGS = ("/available", "/events", "/stats", "/state", "/attributes", "/set", "/snapshot", "/request",
                 "/response/", "/config", "/status")


def _topic_fstrings(path) -> list[str]:  # type: ignore[no-untyped-def]
    """f-strings that build a topic (``f"{base}/{cam}/available"``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            if text.startswith("{}/") and text.endswith(TOPIC_ENDINGS):
                out.append(text)
    return out


def test_topics_have_one_home():
    spelled = {}
    for p in (REPO / "edgekit").rglob("*.py"):
        rel = str(p.relative_to(REPO))
        if rel != "edgekit/contract/topics.py":
            hits = _topic_fstrings(p)
            if hits:
                spelled[rel] = hits
    assert not spelled, f"topics spelled outside contract/topics.py: {spelled}"
