"""The sandbox's budgets: how big anything a template builds may get (docs/semantics.md §5,
"Budgets").

Jinja's sandbox stops templates reaching Python internals, not allocating: a width of
999999999 in a format spec, a `replace` that multiplies a string, nested loops over large
ranges, or an integer too long for `str()` would take gigabytes or hours — or, for the
integer, crash whichever engine first tries to print it. Every limit lives here, once, so
both engines refuse the same template at the same place with the same message, which names
the limit (`... (limit: MAX_OUTPUT)`).

Checks are cheap by construction: sizes are computed from lengths and arguments *before*
anything is built, and integers are measured with `int.bit_length()`, never with `str()`.
"""

from __future__ import annotations

from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace

#: Longest string an operator, filter or string method may build (characters).
MAX_STRING = 1_000_000
#: Longest list or tuple an operator may build (`*`, `+`).
MAX_ITEMS = 1_000_000
#: Most items a `range` may have (Jinja's own sandbox limit, kept).
MAX_RANGE = 100_000
#: Most `{% for %}` iterations in one evaluation of one template, nested loops counted in full.
MAX_LOOP_STEPS = 1_000_000
#: Deepest nesting of macro calls (`caller()` included) and recursive `loop()` calls: deep
#: enough for any real template, shallow enough that no engine's stack runs out first (a
#: recursion the stack stopped would fail in one engine and not in the other).
MAX_CALL_DEPTH = 50
#: Longest rendered text of one template, and of each of its blocks and macro calls.
MAX_OUTPUT = 1_000_000
#: Most decimal digits of an integer (Python prints at most 4,300).
MAX_INT_DIGITS = 4_000
#: Most items (list items and mapping entries, at every depth, a shared part counted each
#: time it appears) in one value: a template's result, a run's inputs, an answer, a tool's
#: result.
MAX_VALUE_ITEMS = 10_000_000
#: Deepest nesting of lists and mappings in one value (the comparator and the printers
#: recurse; Python's own parser stops at 200).
MAX_DEPTH = 100

#: name -> (value, unit), for messages.
LIMITS: dict[str, tuple[int, str]] = {
    "MAX_STRING": (MAX_STRING, "characters"),
    "MAX_ITEMS": (MAX_ITEMS, "items"),
    "MAX_RANGE": (MAX_RANGE, "items"),
    "MAX_LOOP_STEPS": (MAX_LOOP_STEPS, "iterations"),
    "MAX_CALL_DEPTH": (MAX_CALL_DEPTH, "levels"),
    "MAX_OUTPUT": (MAX_OUTPUT, "characters"),
    "MAX_INT_DIGITS": (MAX_INT_DIGITS, "digits"),
    "MAX_VALUE_ITEMS": (MAX_VALUE_ITEMS, "items"),
    "MAX_DEPTH": (MAX_DEPTH, "levels"),
}

#: An int of at most this many bits has at most MAX_INT_DIGITS digits (2**13287 < 10**4000);
#: only longer ones need the exact comparison.
INT_SAFE_BITS = int(MAX_INT_DIGITS / 0.30102999566398120)
_INT_BOUND = 10**MAX_INT_DIGITS


def limit_message(what: str, name: str, verb: str = "would exceed") -> str:
    """`<what> would exceed 1,000,000 characters (limit: MAX_OUTPUT)`."""
    value, unit = LIMITS[name]
    return f"{what} {verb} {value:,} {unit} (limit: {name})"


class BudgetError(SecurityError):
    """A template would build something bigger than a budget allows. A `SecurityError`, so
    it takes the sandbox's path to an `EXPRESSION_ERROR`; `limit` names the budget."""

    def __init__(self, what: str, limit: str, verb: str = "would exceed") -> None:
        self.limit = limit
        super().__init__(limit_message(what, limit, verb))


def int_too_long(value: int) -> bool:
    """Whether `value` has more than MAX_INT_DIGITS digits (sign not counted)."""
    return value.bit_length() > INT_SAFE_BITS and abs(value) >= _INT_BOUND


def check_int(value: Any, what: str = "integer result") -> Any:
    """`value` itself, or `BudgetError` when it is an int with too many digits."""
    if type(value) is int and value.bit_length() > INT_SAFE_BITS and abs(value) >= _INT_BOUND:
        raise BudgetError(what, "MAX_INT_DIGITS")
    return value


def check_string(size: int, what: str) -> None:
    if size > MAX_STRING:
        raise BudgetError(what, "MAX_STRING")


def check_items(size: int, what: str) -> None:
    if size > MAX_ITEMS:
        raise BudgetError(what, "MAX_ITEMS")


def checked_text(value: Any, what: str) -> Any:
    """A string result of a builder, refused when longer than MAX_STRING (other values pass):
    the check after the fact for builders whose growth is bounded by a small factor."""
    if isinstance(value, (str, bytes)) and len(value) > MAX_STRING:
        raise BudgetError(what, "MAX_STRING")
    return value


# --------------------------------------------------------------------------- printed size

_LOG10_2_BELOW = 0.30102  # a little under log10(2), so the digit count below is a lower bound


def int_digits_at_least(value: int) -> int:
    """A lower bound of `len(str(value))`, from the bit length alone."""
    bits = value.bit_length()
    digits = int((bits - 1) * _LOG10_2_BELOW) + 1 if bits else 1
    return digits + (value < 0)


def _children(value: Any) -> tuple[int, int, Any] | None:
    """(brackets and separators, entries, items to visit) of a container `str()` expands."""
    if isinstance(value, (list, tuple)):
        return 2 + 2 * max(len(value) - 1, 0), len(value), value
    if isinstance(value, Mapping):
        count = len(value)
        return 2 + 4 * count - 2 * bool(count), count, (*value.keys(), *value.values())
    if isinstance(value, (KeysView, ValuesView, ItemsView, set, frozenset)):
        return 2 + 2 * max(len(value) - 1, 0), len(value), tuple(value)
    if isinstance(value, Namespace):
        attrs = value._Namespace__attrs  # type: ignore[attr-defined]
        return 2 + 4 * len(attrs), len(attrs), (*attrs.keys(), *attrs.values())
    return None


def printed_size(value: Any, limit: int, per_item: int = 0) -> int:
    """A lower bound of `len(str(value))` (and of its JSON text), counted only up to just
    past `limit`: every item adds at least one character, so a value whose text would be
    huge — a list holding the same big list a million times — is measured in at most
    `limit` steps, never printed. `per_item` adds that much per list item or mapping entry
    (the indentation of `tojson(indent=n)`). Raises `BudgetError` (MAX_DEPTH) for a value
    nested too deep to print on every stack."""
    kind = type(value)
    if kind is str:
        return len(value)
    if kind is int:
        return int_digits_at_least(value)
    if kind is float or kind is bool or value is None:
        return 3
    if isinstance(value, str):
        return len(value)
    size = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str:
            size += len(item) + 2
        elif kind is int:
            size += int_digits_at_least(item)
        elif kind is float or kind is bool or item is None:
            size += 3
        elif isinstance(item, str):
            size += len(item) + 2
        else:
            expanded = _children(item)
            if expanded is None:
                size += 1
            else:
                if depth >= MAX_DEPTH:
                    raise BudgetError("the value", "MAX_DEPTH", "nests more than")
                brackets, entries, items = expanded
                size += brackets + per_item * entries
                if size > limit:
                    return size
                stack.extend((child, depth + 1) for child in items)
                continue
        if size > limit:
            return size
    return size


def check_printed(value: Any, limit_name: str, what: str, per_item: int = 0) -> None:
    """Refuse turning `value` into text when that text would exceed the limit."""
    limit = LIMITS[limit_name][0]
    if printed_size(value, limit, per_item) > limit:
        raise BudgetError(what, limit_name)
