"""The one Jinja environment every template and expression runs in.

It is Jinja's immutable sandbox (templates can neither reach Python internals nor mutate
the data they read) with four changes that make it a data language rather than a page
renderer:

* `StrictUndefined`: a missing name or key is an error, never an empty string;
* dot access on a mapping reads the key first (`loop.items` is the loop's items, not
  `dict.items`); only when the key is absent does it fall back to the attribute;
* nothing non-deterministic: the `random` filter and the `lipsum` global are removed;
* budgets (`engines.expressions.budgets`): whatever a template builds — strings, lists,
  integers, ranges, loop iterations, rendered text — is measured before it is built and
  refused past its limit, here, once, for both engines. Operators go through `call_binop`,
  method calls through `call`, `str.format` through a capped formatter, filters through
  capped wrappers, and loops, `~` and block buffers through the code generator. Compile-time
  constant folding is off, so validating a workflow never builds anything big either.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sized
from functools import update_wrapper
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from engines.expressions import guards
from engines.expressions.budgets import BudgetError, int_too_long, printed_size
from engines.expressions.codegen import BudgetCodeGenerator
from engines.expressions.filters import budgeted_filters
from engines.expressions.formats import CappedEscapeFormatter, CappedFormatter

SCOPE_NAMES: tuple[str, ...] = ("inputs", "vars", "nodes", "loop", "parallel", "env")
_BINOPS = guards.BINOPS


class BudgetContext(Context):
    """A template evaluation's context, which also counts its loop iterations and how deep
    its macro calls nest (engines.expressions.guards)."""

    loop_steps = 0
    call_depth = 0


class WorkflowEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed, strict, deterministic, budgeted Jinja environment for workflow templates."""

    intercepted_binops = frozenset(guards.BINOPS)
    code_generator_class = BudgetCodeGenerator
    context_class = BudgetContext
    # Called by the generated code (engines.expressions.codegen) and by Template.render.
    concat = staticmethod(guards.capped_concat)  # type: ignore[assignment]
    loop_budget = staticmethod(guards.loop_budget)
    concat_values = staticmethod(guards.concat_values)
    output_buffer = guards.OutputBuffer

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            cache_size=0,
            finalize=guards.check_output,
            optimized=False,
        )
        self.filters.pop("random", None)
        self.filters = budgeted_filters(self.filters)
        self.globals.pop("lipsum", None)
        self.globals["range"] = guards.capped_range

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict or isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        return _BINOPS[op](left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        return guards.budgeted_call(__context, __obj, args, kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        """`str.format` and `str.format_map` through the capped formatter (Jinja's own
        wrapper, with the formatter swapped)."""
        if not isinstance(value, (MethodType, BuiltinMethodType)) or value.__name__ not in (
            "format",
            "format_map",
        ):
            return None
        owner = value.__self__
        if not isinstance(owner, str):
            return None
        formatter = (
            CappedEscapeFormatter(self, escape=owner.escape)
            if isinstance(owner, Markup)
            else CappedFormatter(self)
        )
        is_format_map = value.__name__ == "format_map"
        text_type = type(owner)

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs, args = args[0], ()
            return text_type(formatter.vformat(owner, args, kwargs))

        return update_wrapper(wrapper, value)


ENV = WorkflowEnvironment()


def describe(value: Any) -> str:
    """A short, safe description of a value for error messages (a value too big to print
    cheaply — a list holding a big list many times, an integer of thousands of digits — is
    abbreviated without being printed)."""
    if type(value) is int and int_too_long(value):
        text = f"<an integer of {value.bit_length():,} bits>"
    else:
        try:
            small = printed_size(value, 200) <= 200
        except BudgetError:
            small = False
        text = repr(value) if small else _SHORT.repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    size = (
        f", {len(value)} items" if isinstance(value, Sized) and not isinstance(value, str) else ""
    )
    return f"{text} ({type(value).__name__}{size})"


_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 60
