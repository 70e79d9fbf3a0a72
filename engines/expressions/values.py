"""What counts as data: every output, variable and payload is JSON data.

Values coming out of Jinja may be tuples, ranges or undefined objects; they are turned into
JSON data here (tuples become lists) or refused with an `EXPRESSION_ERROR`, so that both
engines store, snapshot and compare exactly the same kind of value.

Data also has a size (docs/semantics.md §5, "Budgets"): integers of at most MAX_INT_DIGITS
digits (so `str()` and `json.dumps` never fail on them — Python refuses to print an int of
more than 4,300 digits), at most MAX_VALUE_ITEMS items at all depths and MAX_DEPTH levels of
nesting. Every way into a run checks here — a template's result, the run's inputs, an
answer to an input, a tool's result, a literal in a document — so no engine, printer or
comparator ever meets a value one of them cannot handle.
"""

from __future__ import annotations

import math
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import UndefinedError

from engines.errors import ExpressionError
from engines.expressions.budgets import (
    INT_SAFE_BITS,
    MAX_DEPTH,
    MAX_VALUE_ITEMS,
    int_too_long,
    limit_message,
)

_SCALARS = (str, int, bool, type(None))


def undefined_message(value: Undefined) -> str:
    try:
        value._fail_with_undefined_error()
    except UndefinedError as exc:
        return str(exc)
    except Exception as exc:  # pragma: no cover - Undefined always raises UndefinedError
        return str(exc)
    return "undefined value"  # pragma: no cover


def as_json(value: Any) -> Any:
    """Return `value` as JSON data, converting tuples to lists; raise `ExpressionError` if it
    is not data or is over a budget. Values that already are JSON data are returned as they
    are (no copy)."""
    kind = type(value)
    if kind in _SCALARS:
        if kind is int and not _NEGATIVE_SMALL < value < _SMALL:
            _check_int(value)
        return value
    return _walk(value)


def _walk(value: Any) -> Any:
    """`as_json` of anything but a plain scalar: one walk, with its budget."""
    left = MAX_VALUE_ITEMS
    #: Containers of at least _SHARED items already converted: id -> (converted, items).
    seen: dict[int, tuple[Any, int]] = {}

    def convert(value: Any, depth: int) -> Any:
        nonlocal left
        kind = type(value)
        if kind in _SCALARS:
            if kind is int and not _NEGATIVE_SMALL < value < _SMALL:
                _check_int(value)
            return value
        if kind is float:
            if not math.isfinite(value):
                raise ExpressionError(f"{value} is not a finite number")
            return value
        if kind is not dict and kind is not list and kind is not tuple:
            return _other(value)
        if depth >= MAX_DEPTH:
            raise ExpressionError(limit_message("the value", "MAX_DEPTH", "nests more than"))
        size = len(value)
        if size >= _SHARED:
            return shared(value, kind, depth)
        left -= size
        if left < 0:
            raise _too_many()
        return items(value, kind, depth + 1)

    def shared(value: Any, kind: type, depth: int) -> Any:
        nonlocal left
        done = seen.get(id(value))
        before = left
        left -= len(value) if done is None else done[1]
        if left < 0:
            raise _too_many()
        if done is not None:
            return done[0]
        result = items(value, kind, depth + 1)
        seen[id(value)] = (result, before - left)
        return result

    def items(value: Any, kind: type, depth: int) -> Any:
        if kind is dict:
            out = None
            for key, item in value.items():
                if type(key) is not str:
                    raise ExpressionError(f"mapping key {key!r} is not a string")
                kind = type(item)
                if kind in _QUICK or (kind is int and _NEGATIVE_SMALL < item < _SMALL):
                    continue
                converted = convert(item, depth)
                if converted is not item:
                    if out is None:
                        out = dict(value)
                    out[key] = converted
            return value if out is None else out
        converted = [item if type(item) in _QUICK else convert(item, depth) for item in value]
        if kind is list and all(a is b for a, b in zip(converted, value, strict=True)):
            return value
        return converted

    return convert(value, 0)


def _too_many() -> ExpressionError:
    return ExpressionError(limit_message("the value", "MAX_VALUE_ITEMS", "holds more than"))


#: Containers at least this long are remembered during one conversion: one shared a million
#: times is walked once (and charged a million times). Shorter ones are cheaper to walk again
#: than to remember; a cycle is stopped by MAX_DEPTH.
_SHARED = 32
#: Items that are data as they are, whatever their size: not worth a call.
_QUICK = frozenset({str, bool, type(None)})
#: Integers strictly between -_SMALL and _SMALL have at most MAX_INT_DIGITS digits.
_SMALL = 1 << INT_SAFE_BITS
_NEGATIVE_SMALL = -_SMALL


def _check_int(value: int) -> None:
    if int_too_long(value):
        raise ExpressionError(limit_message("an integer", "MAX_INT_DIGITS", "has more than"))


def _other(value: Any) -> Any:
    """`as_json` of a value that is neither a plain scalar nor a plain container."""
    if isinstance(value, Undefined):
        raise ExpressionError(undefined_message(value))
    if isinstance(value, str):  # markupsafe.Markup and other str subclasses
        return str(value)
    raise ExpressionError(f"a value of type {type(value).__name__} is not JSON data")


def is_json(value: Any) -> bool:
    try:
        return as_json(value) is value
    except ExpressionError:
        return False
