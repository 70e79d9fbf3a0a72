"""Text from workflows, fixtures, engines and files, made safe to show on a terminal.

Ids, prompts, error messages and paths come from documents and engines compat does not
trust. Printed raw, an escape sequence in one (`ESC [2J`, an OSC title or hyperlink, a
carriage return, a right-to-left override) can rewrite the terminal or disguise a verdict.
`printable` replaces every control character with a visible escape (`\\x1b`, `\\u202e`),
so an ANSI sequence shows as inert text; `markup` also escapes rich markup. `shown` turns a
value into short JSON text that never fails, an integer too long for Python to print
included.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from typing import Any

from rich.markup import escape

#: C0 controls, DEL, C1 controls (CSI U+009B among them), the bidirectional controls
#: (embeddings, overrides, isolates, marks) and the Unicode line and paragraph separators.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
_CONTROL_BUT_NEWLINE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, newlines: bool = False) -> str:
    """`text` with every control character shown as an escape; with `newlines`, line breaks
    are kept (where a newline is the output's own structure)."""
    value = text if isinstance(text, str) else str(text)
    pattern = _CONTROL_BUT_NEWLINE if newlines else _CONTROL
    return pattern.sub(_visible, value) if pattern.search(value) else value


def markup(text: object) -> str:
    """`printable` text, escaped for rich: shown as it is, never read as `[markup]`."""
    return escape(printable(text))


#: Integers with more digits than this are shown shortened (Python cannot print them).
INT_DIGITS_SHOWN = 4300
_BIG = 10**INT_DIGITS_SHOWN
_LOG10_2 = math.log10(2)


#: Up to this many digits, `short_int` counts them exactly (a power of ten that size costs
#: milliseconds); beyond, from the bit length.
_EXACT_DIGITS = 100_000


def short_int(value: int) -> str:
    """An integer of any size as short text: exact when Python can print it, else its
    leading and trailing digits and how many there are, computed without converting the
    whole number to text."""
    if -_BIG < value < _BIG:
        return str(value)
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    tail = f"{magnitude % 10**6:06d}"
    estimate = int(magnitude.bit_length() * _LOG10_2) + 1
    if estimate <= _EXACT_DIGITS:
        digits = estimate if magnitude >= 10 ** (estimate - 1) else estimate - 1
        lead = str(magnitude // 10 ** (digits - 6))
        return f"{sign}{lead}…{tail} (an integer of {digits:,} digits)"
    shift = magnitude.bit_length() - 60
    exponent = math.log10(magnitude >> shift) + shift * _LOG10_2
    lead = f"{10 ** (exponent - int(exponent)):.5f}".replace(".", "")[:6]
    return f"{sign}{lead}…{tail} (an integer of about {int(exponent) + 1:,} digits)"


def _shorten_ints(value: Any, found: list[str], token: str) -> Any:
    """`value` with each integer too long to print replaced by a placeholder string."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -_BIG < value < _BIG:
            return value
        found.append(short_int(value))
        return f"{token}{len(found) - 1}{token}"
    if isinstance(value, dict):
        return {key: _shorten_ints(item, found, token) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shorten_ints(item, found, token) for item in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def shown(value: Any) -> str:
    """`value` as compact JSON text (keys sorted, non-JSON values as `str`) that never
    fails: an integer too long to print is shown shortened (`short_int`), and a value that
    cannot be written at all (nested without end, keys that do not sort) says so."""
    try:
        return _dumps(value)
    except ValueError:
        pass
    except (TypeError, RecursionError) as exc:
        return f"<a {type(value).__name__} that cannot be shown: {type(exc).__name__}>"
    found: list[str] = []
    token = f"@{secrets.token_hex(8)}@"
    try:
        text = _dumps(_shorten_ints(value, found, token))
    except (ValueError, TypeError, RecursionError) as exc:
        return f"<a {type(value).__name__} that cannot be shown: {type(exc).__name__}>"
    pattern = re.compile(f'"{re.escape(token)}(\\d+){re.escape(token)}"')
    return pattern.sub(lambda m: found[int(m.group(1))], text)
