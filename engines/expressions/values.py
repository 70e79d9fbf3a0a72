"""What counts as data: every output, variable and payload is JSON data.

Values coming out of Jinja may be tuples, ranges or undefined objects; they are turned into
JSON data here (tuples become lists) or refused with an `EXPRESSION_ERROR`, so that both
engines store, snapshot and compare exactly the same kind of value.
"""

from __future__ import annotations

import math
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import UndefinedError

from engines.errors import ExpressionError

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
    is not data. Values that already are JSON data are returned as they are (no copy)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise ExpressionError(f"{value} is not a finite number")
        return value
    if kind is dict:
        out = None
        for key, item in value.items():
            if type(key) is not str:
                raise ExpressionError(f"mapping key {key!r} is not a string")
            converted = as_json(item)
            if converted is not item:
                if out is None:
                    out = dict(value)
                out[key] = converted
        return value if out is None else out
    if kind is list or kind is tuple:
        items = [as_json(item) for item in value]
        if kind is list and all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items
    if isinstance(value, Undefined):
        raise ExpressionError(undefined_message(value))
    if isinstance(value, str):  # markupsafe.Markup and other str subclasses
        return str(value)
    raise ExpressionError(f"a value of type {kind.__name__} is not JSON data")


def is_json(value: Any) -> bool:
    try:
        return as_json(value) is value
    except ExpressionError:
        return False
