"""A small deterministic tool set for fixtures and tests.

Every built-in is a pure function of its arguments and its context (attempt number, clock),
so two engines calling it the same way get the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any

from engines.errors import ToolError
from engines.tools.registry import ToolContext, ToolRegistry
from engines.tools.stand_in import stand_in

BAD_ARGS = "BAD_ARGS"
_KIND_NAMES = {
    Real: "a number",
    int: "an integer",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    bool: "a boolean",
    type(None): "null",
}


def _arg(
    args: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...
) -> Any:
    if name not in args:
        if default is ...:
            raise ToolError(BAD_ARGS, f"missing argument {name!r}", recoverable=False)
        return default
    value = args[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        expected = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise ToolError(
            BAD_ARGS, f"argument {name!r} must be {expected}, got {value!r}", recoverable=False
        )
    return value


def _number(args: Mapping[str, Any], name: str) -> float | int:
    return _arg(args, name, Real)  # type: ignore[arg-type]


def echo(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """Return the arguments unchanged."""
    return dict(args)


def add(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """a + b."""
    return _number(args, "a") + _number(args, "b")


def subtract(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """a - b."""
    return _number(args, "a") - _number(args, "b")


def multiply(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """a * b."""
    return _number(args, "a") * _number(args, "b")


def divide(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """a / b; dividing by zero raises DIVISION_BY_ZERO (not recoverable)."""
    a, b = _number(args, "a"), _number(args, "b")
    if b == 0:
        raise ToolError("DIVISION_BY_ZERO", f"cannot divide {a} by zero", recoverable=False)
    return a / b


def sum_(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """The sum of `values` (a list of numbers)."""
    values = _arg(args, "values", list)
    if not all(isinstance(v, Real) and not isinstance(v, bool) for v in values):
        raise ToolError(BAD_ARGS, "argument 'values' must be a list of numbers", recoverable=False)
    return sum(values)


def concat(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """Join `values` as strings with `separator` (default "")."""
    values = _arg(args, "values", list)
    return _arg(args, "separator", str, "").join(str(v) for v in values)


def upper(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """`text` in upper case."""
    return _arg(args, "text", str).upper()


def lower(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """`text` in lower case."""
    return _arg(args, "text", str).lower()


def split(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """`text` split on `separator` (default: runs of whitespace)."""
    text = _arg(args, "text", str)
    sep = _arg(args, "separator", (str, type(None)), None)
    return text.split(sep) if sep else text.split()


def length(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """The length of `value` (string, list or mapping)."""
    return len(_arg(args, "value", (str, list, dict)))


def lookup(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """`table[key]`; a missing key raises NOT_FOUND unless `default` is given."""
    table = _arg(args, "table", dict)
    key = _arg(args, "key", str)
    if key in table:
        return table[key]
    if "default" in args:
        return args["default"]
    raise ToolError("NOT_FOUND", f"no entry {key!r}", recoverable=False)


async def sleep(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """Wait `seconds` on the run's clock, then return `value` (default: the seconds)."""
    seconds = _number(args, "seconds")
    if seconds < 0:
        raise ToolError(BAD_ARGS, "argument 'seconds' must not be negative", recoverable=False)
    await ctx.clock.sleep(seconds)
    return args.get("value", seconds)


def flaky(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """Fail (recoverably, with `code`, default FLAKY) on the first `failures` attempts of each
    node execution, then return `value` (default: {"attempts": n}). It reads the attempt
    number from its context, so it behaves the same in every engine and every run."""
    failures = _arg(args, "failures", int)
    code = _arg(args, "code", str, "FLAKY")
    if ctx.attempt <= failures:
        key = args.get("key") or ctx.node or "flaky"
        raise ToolError(code, f"{key}: attempt {ctx.attempt} of {failures} planned failures")
    return args.get("value", {"attempts": ctx.attempt})


def raise_(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """Always raise ToolError(`code`, `message`, recoverable=`recoverable` (default false))."""
    raise ToolError(
        _arg(args, "code", str),
        _arg(args, "message", str, ""),
        recoverable=_arg(args, "recoverable", bool, False),
    )


def crash(args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """Raise a plain Python exception (it becomes a non-recoverable TOOL_ERROR)."""
    raise RuntimeError(_arg(args, "message", str, "crash tool called"))


BUILTINS = {
    "echo": echo,
    "add": add,
    "subtract": subtract,
    "multiply": multiply,
    "divide": divide,
    "sum": sum_,
    "concat": concat,
    "upper": upper,
    "lower": lower,
    "split": split,
    "length": length,
    "lookup": lookup,
    "sleep": sleep,
    "flaky": flaky,
    "raise": raise_,
    "crash": crash,
    "stand_in": stand_in,
}


def builtin_registry() -> ToolRegistry:
    """A fresh registry holding the built-in tools."""
    registry = ToolRegistry()
    for name, fn in BUILTINS.items():
        registry.register(name, fn)
    return registry
