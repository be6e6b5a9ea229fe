"""mkdocs hook: the catalogue of one-line errors, read from edgekit's source on every build.

The error types are ``EdgekitError`` and its subclasses; the messages are every ``raise <error type>(...)`` in the
package, every ``fail(...)`` of the CLI, and the ``ValueError``s of the config models (which ``edgekit config check``
reports as ``invalid config FILE:LINE: where: message``). The source is read, not imported, so the catalogue holds
the messages of optional parts (export, fleet, boards) whatever is installed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

PAGE = "reference/troubleshooting.md"
MARKER = "<!-- error-catalogue -->"
PACKAGE = Path(__file__).resolve().parents[2] / "edgekit"
ROOT_ERROR = "EdgekitError"


@dataclass
class ErrorType:
    name: str
    base: str
    doc: str
    where: str
    #: an ``__init__`` that builds the message: its parameters, and the f-string it passes on
    init_params: list[str] | None = None
    init_format: ast.JoinedStr | None = None


@dataclass
class Message:
    text: str
    error: str
    where: str


def _text(node: ast.expr, params: dict[str, str] | None = None) -> str:
    """A message expression as its text, each computed part as ``{expression}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v, params) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return _text(node.value, params) if params is not None else _placeholder(node.value)
    if params is not None and isinstance(node, ast.Name) and node.id in params:
        return params[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left, params) + _text(node.right, params)
    return _placeholder(node)


def _placeholder(node: ast.expr) -> str:
    code = ast.unparse(node)
    return "{" + (code if len(code) <= 30 else "…") + "}"


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(PACKAGE.parent)), ast.parse(p.read_text(encoding="utf-8"), str(p)))
            for p in sorted(PACKAGE.rglob("*.py"))]


def _is_error(path: str, c: ast.ClassDef, found: dict[str, ErrorType]) -> bool:
    """The root error itself, or a class one of whose bases is already known to be an error."""
    if c.name == ROOT_ERROR:
        return path.endswith("errors.py")
    return any(isinstance(b, ast.Name) and b.id in found for b in c.bases)


def _error_type(path: str, c: ast.ClassDef) -> ErrorType:
    base = next((b.id for b in c.bases if isinstance(b, ast.Name)), "Exception")
    t = ErrorType(c.name, base, " ".join((ast.get_docstring(c) or "").split()), f"{path}:{c.lineno}")
    init = next((f for f in c.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"), None)
    if init is not None:
        fmt = next((n.args[0] for n in ast.walk(init) if isinstance(n, ast.Call) and n.args
                    and isinstance(n.args[0], ast.JoinedStr)), None)
        if isinstance(fmt, ast.JoinedStr):
            t.init_params, t.init_format = [a.arg for a in init.args.args[1:]], fmt
    return t


def error_types(modules: list[tuple[str, ast.Module]]) -> dict[str, ErrorType]:
    """``EdgekitError`` and every class that derives from it, by name."""
    classes = [(path, c) for path, tree in modules for c in ast.walk(tree) if isinstance(c, ast.ClassDef)]
    found: dict[str, ErrorType] = {}
    while new := [(path, c) for path, c in classes if c.name not in found and _is_error(path, c, found)]:
        found.update((c.name, _error_type(path, c)) for path, c in new)
    return found


def _call_name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def messages(modules: list[tuple[str, ast.Module]], types: dict[str, ErrorType]) -> list[Message]:
    """Every message a user can be shown in one line, with where it is raised."""
    found = []
    for path, tree in modules:
        for node in ast.walk(tree):
            call, error = None, None
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = _call_name(node.exc.func)
                if name in types or (name == "ValueError" and path.startswith("edgekit/config/")):
                    call, error = node.exc, "config" if name == "ValueError" else name
            elif isinstance(node, ast.Call) and _call_name(node.func) == "fail" and path.startswith("edgekit/cli/"):
                call, error = node, "fail"
            if call is None or not call.args:
                continue
            t = types.get(error or "")
            if t and t.init_format is not None and t.init_params is not None:
                params = {p: _text(a) for p, a in zip(t.init_params, call.args, strict=False)}
                text = _text(t.init_format, params)
            else:
                text = _text(call.args[0])
            if text.strip("{}…") and not (text.startswith("{") and text.endswith("}") and text.count("{") == 1):
                found.append(Message(" ".join(text.split()), error or "", f"{path}:{call.lineno}"))
    return sorted(found, key=lambda m: (m.where.split(":")[0], int(m.where.split(":")[1])))


def _code(text: str) -> str:
    """``text`` as a markdown code span, whatever backticks it holds."""
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def render() -> str:
    """Markdown: the error types, then every message grouped by the part of edgekit that raises it."""
    modules = _modules()
    types = error_types(modules)
    if ROOT_ERROR not in types:
        raise PluginError(f"no class {ROOT_ERROR} in {PACKAGE}/errors.py: the error catalogue cannot be built")
    lines = ["## Error types", "", "| error | derives from | what it means | defined in |", "|---|---|---|---|"]
    for t in sorted(types.values(), key=lambda t: (t.name != ROOT_ERROR, t.name)):
        lines.append(f"| `{t.name}` | `{t.base}` | {t.doc} | `{t.where}` |")
    found = messages(modules, types)
    lines += ["", "## Every message", "",
              f"{len(found)} messages, by the part of edgekit that raises them. `{{…}}` is filled in when it is "
              "raised (a file name, a value, a list of choices). After each message: the error type (`config`: a "
              "check of the config models, shown as `invalid config FILE:LINE: where: message`; `fail`: the CLI's "
              "own line) and where in the source it is raised.", ""]
    by_part: dict[str, list[Message]] = {}
    for m in found:
        by_part.setdefault(m.where.split("/")[1].removesuffix(".py").split(":")[0], []).append(m)
    for part in sorted(by_part):
        lines += [f"### edgekit/{part} {{#messages-{part}}}", ""]
        lines += [f"- {_code(m.text)} — {m.error}, `{m.where}`" for m in by_part[part]]
        lines.append("")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Page, **kwargs: Any) -> str:
    """Fill the marker of the troubleshooting page."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise PluginError(f"{PAGE} lost its marker {MARKER}: the error catalogue has nowhere to go")
    return markdown.replace(MARKER, render())
