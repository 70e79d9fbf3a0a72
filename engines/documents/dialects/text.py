"""Rich text from canvases: HTML paragraphs to plain text, and text with `{{ … }}` or
`{name}` placeholders to compat templates and expressions.

Products store prompts as editor HTML (`<p>…</p>`, mention `<span>`s) with their own
placeholder syntax. The text between placeholders is kept literally (escaped, so it is never
evaluated); each placeholder is translated by the dialect's `resolve` function, which returns
a compat expression or raises `Untranslatable` with the reason.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from engines.documents.dialects.base import literal_text, quote

_PARAGRAPH_BREAK = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]+>")
_HTML_HINT = re.compile(r"</?(?:p|span|br|div|strong|em|code|ul|ol|li)\b", re.IGNORECASE)
#: `{{ expr }}` placeholders (Flowise, Jinja-like products).
DOUBLE_BRACE = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
#: `{name}` placeholders (Langflow prompts, Python `str.format`); `{{`/`}}` are escapes.
SINGLE_BRACE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Untranslatable(ValueError):
    """A placeholder the dialect has no compat equivalent for."""


def html_to_text(text: str) -> str:
    """Editor HTML as plain text: paragraphs become lines, tags go, entities are decoded.
    Text without HTML tags is returned unchanged."""
    if not _HTML_HINT.search(text):
        return text
    text = _PARAGRAPH_BREAK.sub("\n", text)
    text = _LINE_BREAK.sub("\n", text)
    text = _TAG.sub("", text)
    return html.unescape(text).strip()


Resolve = Callable[[str], str]


def _parts(text: str, pattern: re.Pattern[str], resolve: Resolve) -> list[tuple[bool, str]]:
    """(is_expression, piece) in order: literal text and translated placeholders."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            parts.append((False, text[position : match.start()]))
        name = match.group(1)
        if name is None:  # an escaped brace of `{name}` syntax
            parts.append((False, match.group(0)[0]))
        else:
            parts.append((True, resolve(name.strip())))
        position = match.end()
    if position < len(text):
        parts.append((False, text[position:]))
    return _merge(parts)


def _merge(parts: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    merged: list[tuple[bool, str]] = []
    for is_expr, piece in parts:
        if merged and not is_expr and not merged[-1][0]:
            merged[-1] = (False, merged[-1][1] + piece)
        else:
            merged.append((is_expr, piece))
    return merged


def to_template(text: str, pattern: re.Pattern[str], resolve: Resolve) -> str:
    """A compat template equal to `text` with each placeholder replaced. A text that is one
    placeholder alone gives that value natively (a list stays a list)."""
    parts = _parts(text, pattern, resolve)
    return "".join(
        "{{ " + piece + " }}" if is_expr else literal_text(piece) for is_expr, piece in parts
    )


def to_expression(text: str, pattern: re.Pattern[str], resolve: Resolve) -> str:
    """A compat expression equal to `text` with each placeholder replaced: one placeholder
    alone is its value; anything else is text joined with `~`."""
    parts = _parts(text, pattern, resolve)
    if len(parts) == 1 and parts[0][0]:
        return f"({parts[0][1]})"
    if not parts:
        return "''"
    return " ~ ".join(f"({piece})" if is_expr else quote(piece) for is_expr, piece in parts)
