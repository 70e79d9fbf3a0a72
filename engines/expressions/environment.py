"""The one Jinja environment every template and expression runs in.

It is Jinja's immutable sandbox (templates can neither reach Python internals nor mutate
the data they read) with three changes that make it a data language rather than a page
renderer:

* `StrictUndefined`: a missing name or key is an error, never an empty string;
* dot access on a mapping reads the key first (`loop.items` is the loop's items, not
  `dict.items`); only when the key is absent does it fall back to the attribute;
* nothing non-deterministic: the `random` filter and the `lipsum` global are removed, and
  the operators that can allocate without bound (`*`, `**`) are capped.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sized
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: Largest sequence `*` may build (items or characters) and largest integer exponent of `**`.
MAX_REPEAT = 1_000_000
MAX_EXPONENT = 4_096

SCOPE_NAMES: tuple[str, ...] = ("inputs", "vars", "nodes", "loop", "parallel", "env")


def _capped_mul(left: Any, right: Any) -> Any:
    for seq, times in ((left, right), (right, left)):
        if (
            isinstance(seq, (str, list, tuple))
            and isinstance(times, int)
            and len(seq) * max(times, 0) > MAX_REPEAT
        ):
            raise SecurityError(f"repetition would build more than {MAX_REPEAT} items")
    return operator.mul(left, right)


def _capped_pow(left: Any, right: Any) -> Any:
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and abs(right) > MAX_EXPONENT
        and left not in (0, 1, -1)
    ):
        raise SecurityError(f"integer exponent above {MAX_EXPONENT}")
    return operator.pow(left, right)


class WorkflowEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed, strict, deterministic Jinja environment for workflow templates."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            cache_size=0,
        )
        self.filters.pop("random", None)
        self.globals.pop("lipsum", None)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict or isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "*":
            return _capped_mul(left, right)
        if op == "**":
            return _capped_pow(left, right)
        return super().call_binop(context, op, left, right)


ENV = WorkflowEnvironment()


def describe(value: Any) -> str:
    """A short, safe description of a value for error messages."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    size = (
        f", {len(value)} items" if isinstance(value, Sized) and not isinstance(value, str) else ""
    )
    return f"{text} ({type(value).__name__}{size})"
