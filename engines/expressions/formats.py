"""Formatting under budget: `'%999999999s' % x`, `'{:>999999999}'.format(x)` and the `format`
filter are measured before they run.

A field's width, and a float's precision, are lower bounds of the text it produces, and so
is the printed size of the value formatted; their sum over all fields is compared with
MAX_STRING before Python formats anything. The estimate never exceeds the real length, so
a format that fits is never refused; one that slips past the estimate (escaping, say) is
still refused by the length check after it ran, at a cost bounded by a small factor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Formatter
from typing import Any

from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter

from engines.expressions.budgets import (
    MAX_STRING,
    BudgetError,
    check_printed,
    checked_text,
    int_digits_at_least,
    printed_size,
)

#: More digits than this in a width or precision is certainly over budget (and would not
#: fit `int()` of a long digit string either).
_MAX_DIGITS = len(str(MAX_STRING)) + 1

_PRINTF = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?"
    r"(?P<type>[diouxXeEfFgGcrsa%])"
)
_SPEC = re.compile(
    r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d+)?[_,]?(?:\.(?P<precision>\d+))?(?P<type>[a-zA-Z%])?"
)
#: Conversions whose precision is a count of digits written (not significant digits, not a
#: truncation).
_PRECISE = frozenset("eEfF%diouxX")
#: Conversions that print an integer in decimal (others print fewer digits, or a float).
_DECIMAL = frozenset("diu")
#: Conversions that print the value's text.
_TEXTUAL = frozenset("sra")


def _number(digits: str | None) -> int:
    digits = (digits or "").lstrip("0")
    if not digits:
        return 0
    return MAX_STRING + 1 if len(digits) > _MAX_DIGITS else int(digits)


def _value_size(value: Any, kind: str, precision: int | None) -> int:
    """A lower bound of the text of one formatted value (width aside)."""
    if kind in _TEXTUAL and isinstance(value, str):
        return len(value) if precision is None else min(len(value), precision)
    if kind in _TEXTUAL:
        size = printed_size(value, MAX_STRING)
        return size if precision is None else min(size, precision)
    base = int_digits_at_least(value) if type(value) is int and kind in _DECIMAL else 1
    if precision is not None and kind in _PRECISE:
        return max(base, precision)
    return base


def _printf_arg(args: Any, index: int, key: str | None) -> tuple[Any, int, bool]:
    """(argument, next index, found) of one printf conversion."""
    if key is not None:
        if isinstance(args, Mapping) and key in args:
            return args[key], index, True
        return None, index, False
    if isinstance(args, tuple):
        if index < len(args):
            return args[index], index + 1, True
        return None, index, False
    return (args, index + 1, True) if index == 0 else (None, index, False)


def printf_size(text: str, args: Any) -> int:
    """A lower bound of `len(text % args)`."""
    size = len(text)
    index = 0
    for match in _PRINTF.finditer(text):
        size -= len(match.group())
        kind, key = match["type"], match["key"]
        if kind == "%":
            size += 1
            continue
        width = match["width"]
        if width == "*":
            value, index, found = _printf_arg(args, index, None)
            width_size = abs(value) if found and type(value) is int else 0
        else:
            width_size = _number(width)
        precision: int | None = None
        if match["precision"] is not None:
            if match["precision"] == "*":
                value, index, found = _printf_arg(args, index, None)
                precision = value if found and type(value) is int and value >= 0 else None
            else:
                precision = _number(match["precision"])
        value, index, found = _printf_arg(args, index, key)
        if not found:
            break  # Python will refuse the format itself
        size += max(width_size, _value_size(value, kind, precision))
        if size > MAX_STRING:
            return size
    return size


def capped_printf(text: str, args: Any, what: str) -> Any:
    """`text % args` within MAX_STRING."""
    if not _plainly_small(text, args) and printf_size(text, args) > MAX_STRING:
        raise BudgetError(what, "MAX_STRING")
    return checked_text(text % args, what)


#: A width or precision of 10,000 or more, or one taken from the arguments.
_LONG_FIELD = re.compile(r"\d{5}|\*")
_PLAIN = frozenset({int, float, bool, type(None)})


def _plainly_small(text: str, args: Any) -> bool:
    """Whether `text % args` is certainly within budget without measuring it field by field:
    a few conversions, none wider than 9,999, of short strings and numbers (an int prints at
    most MAX_INT_DIGITS digits). The usual case, kept cheap."""
    if len(text) > 4096 or text.count("%") > 40 or _LONG_FIELD.search(text):
        return False
    values = args.values() if isinstance(args, Mapping) else args
    if not isinstance(values, tuple):
        values = (values,)
    return all(
        type(value) in _PLAIN or (type(value) is str and len(value) <= 4096) for value in values
    )


def spec_size(value: Any, spec: str) -> int:
    """A lower bound of `len(format(value, spec))`."""
    match = _SPEC.fullmatch(spec)
    if match is None:
        return 0  # not a spec `format` accepts: it raises
    kind = match["type"] or ""
    precision = None if match["precision"] is None else _number(match["precision"])
    if isinstance(value, str) or not spec:
        base = _value_size(value, "s", precision)
    elif kind and kind in "eEfF%":
        base = precision or 1
    elif type(value) is int and kind in ("", "d", "n"):
        base = int_digits_at_least(value)
    else:
        base = 1
    return max(_number(match["width"]), base)


class _Capped(Formatter):
    """Adds the budget to a sandboxed formatter: each field is measured before it is
    formatted, and their total is held against MAX_STRING."""

    _spent = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._spent = 0
        return checked_text(super().vformat(format_string, args, kwargs), "str.format")

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            check_printed(value, "MAX_STRING", "str.format")
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec:
            self._spent += spec_size(value, format_spec)
        else:
            self._spent += len(value) if type(value) is str else printed_size(value, MAX_STRING)
        if self._spent > MAX_STRING:
            raise BudgetError("str.format", "MAX_STRING")
        return super().format_field(value, format_spec)


class CappedFormatter(_Capped, SandboxedFormatter):
    """`str.format` in the sandbox, within budget."""


class CappedEscapeFormatter(_Capped, SandboxedEscapeFormatter):
    """`Markup.format` in the sandbox, within budget."""
