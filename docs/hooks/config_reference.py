"""mkdocs hook: the config reference, written from the pydantic models' JSON schemas on every build.

The daemon config (``DaemonConfig``, what ``edgekit config schema`` prints) and the hub config (``HubConfig``) fill
the markers on ``reference/config.md``: one section per top-level key, then one table per nested section type, so a
new key appears in the docs without anyone writing it down.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page
from pydantic import BaseModel

PAGE = "reference/config.md"
MARKERS = {"<!-- daemon-config -->": ("edgekit.config.daemon", "DaemonConfig", ""),
           "<!-- hub-config -->": ("edgekit.config.hub", "HubConfig", "hub-")}

Schema = dict[str, Any]


def _type(s: Schema, anchor: str) -> str:
    """A schema's type in words, nested section types linked to their table."""
    if "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{anchor}{name.lower()})"
    if "anyOf" in s:
        return " or ".join(_type(x, anchor) for x in s["anyOf"])
    if "enum" in s:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in s["enum"])
    if "const" in s:
        return f"`{json.dumps(s['const'])}`"
    t = s.get("type", "any")
    if t == "array":
        items = s.get("prefixItems")
        if items:
            return "[" + ", ".join(_type(x, anchor) for x in items) + "]"
        return f"list of {_type(s.get('items', {}), anchor)}"
    if t == "object" and isinstance(s.get("additionalProperties"), dict):
        return f"map of name → {_type(s['additionalProperties'], anchor)}"
    return "null" if t == "null" else str(t)


def _bounds(s: Schema) -> str:
    """Constraints worth telling a user: ranges, lengths, patterns."""
    words = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<",
             "minLength": "length ≥", "maxLength": "length ≤", "minItems": "items ≥", "maxItems": "items ≤"}
    parts = [f"{w} {s[k]}" for k, w in words.items() if k in s]
    if "pattern" in s:
        parts.append(f"matches `{s['pattern']}`")
    for alt in s.get("anyOf", []):
        parts += [_bounds(alt)] if _bounds(alt) else []
    return ", ".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(s: Schema, required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in s:  # a default_factory: a section's own defaults, or an empty list or map
        if "$ref" in s or any("$ref" in alt for alt in s.get("anyOf", [])):
            return "its keys' defaults"
        return {"array": "`[]`", "object": "`{}`"}.get(s.get("type", ""), "")
    return _json(s["default"])


def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return f"`{text}`" if len(text) <= 60 else f"`{text[:57]}…`"


def _top_default(model: type[BaseModel], key: str) -> str:
    """A top-level key's default from the model itself (the schema leaves out what a factory makes)."""
    field = next(f for name, f in model.model_fields.items() if (f.alias or name) == key)
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    return "each key's default (below)" if isinstance(value, BaseModel) else _json(value)


def _table(model: Schema, anchor: str) -> list[str]:
    required = set(model.get("required", []))
    rows = ["| key | type | default | constraints | description |", "|---|---|---|---|---|"]
    for key, s in model.get("properties", {}).items():
        rows.append(f"| `{key}` | {_type(s, anchor)} | {_default(s, key in required)} | {_cell(_bounds(s))} | "
                    f"{_cell(s.get('description', ''))} |")
    return rows


def render(model: type[BaseModel], anchor: str) -> str:
    """Markdown for ``model``: each top-level key as a section, then each nested type's table."""
    schema = model.model_json_schema()
    lines: list[str] = []
    for key, s in schema["properties"].items():
        lines += [f"### `{key}` {{#{anchor}{key}}}", ""]
        lines += [f"Type: {_type(s, anchor)}. Default: {_top_default(model, key)}."]
        if _bounds(s):
            lines[-1] += f" Constraints: {_bounds(s)}."
        lines += [""] + ([s["description"], ""] if s.get("description") else [])
    defs: dict[str, Schema] = schema.get("$defs", {})
    if defs:
        lines += ["### Section types", ""]
    for name, d in sorted(defs.items()):
        lines += [f"#### {name} {{#{anchor}{name.lower()}}}", ""]
        lines += [" ".join(d["description"].split()), ""] if d.get("description") else []
        lines += [*_table(d, anchor), ""] if d.get("properties") else [f"Type: {_type(d, anchor)}.", ""]
    return "\n".join(lines)


def _model(module: str, name: str) -> type[BaseModel]:
    model = getattr(importlib.import_module(module), name)
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return model


def on_page_markdown(markdown: str, page: Page, **kwargs: Any) -> str:
    """Fill the markers of the config reference page."""
    if page.file.src_uri != PAGE:
        return markdown
    for marker, (module, name, anchor) in MARKERS.items():
        if marker not in markdown:
            raise PluginError(f"{PAGE} lost its marker {marker}: the {name} reference has nowhere to go")
        markdown = markdown.replace(marker, render(_model(module, name), anchor))
    return markdown
