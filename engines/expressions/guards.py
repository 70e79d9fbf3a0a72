"""The budgeted operations the sandbox routes templates through: operators, method calls,
`range`, `~`, loops and rendered output (docs/semantics.md §5, "Budgets").

Each guard measures what an operation would build from lengths and arguments, refuses with
`BudgetError` when that is over its budget, and otherwise runs the operation unchanged, so a
template within budget renders exactly as under plain Jinja. The common case (small numbers,
short strings) costs a type check or two.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from jinja2.runtime import LoopContext, Macro, markup_join, str_join
from jinja2.utils import pass_eval_context

from engines.expressions.budgets import (
    INT_SAFE_BITS,
    MAX_CALL_DEPTH,
    MAX_LOOP_STEPS,
    MAX_OUTPUT,
    MAX_RANGE,
    MAX_STRING,
    BudgetError,
    check_int,
    check_items,
    check_printed,
    check_string,
    checked_text,
    printed_size,
)
from engines.expressions.formats import capped_printf

# --------------------------------------------------------------------------- operators

_SEQUENCES = (str, list, tuple, bytes)


def _repetition(seq: Any, times: Any) -> None:
    if isinstance(times, int) and times > 1:
        size = len(seq) * times
        if isinstance(seq, (str, bytes)):
            check_string(size, "repetition")
        else:
            check_items(size, "repetition")


def capped_mul(left: Any, right: Any) -> Any:
    if isinstance(left, _SEQUENCES):
        _repetition(left, right)
    elif isinstance(right, _SEQUENCES):
        _repetition(right, left)
    result = left * right
    if type(result) is int and result.bit_length() > INT_SAFE_BITS:
        check_int(result, "integer product")
    return result


def capped_pow(left: Any, right: Any) -> Any:
    integers = type(left) in (int, bool) and type(right) in (int, bool)
    if integers and right > 1 and left not in (0, 1, -1):
        # |left| ** right has at least (bits - 1) * right + 1 bits: refuse on that bound alone,
        # compute only what is at most about twice the limit.
        if (abs(left).bit_length() - 1) * right + 1 > INT_SAFE_BITS + 2:
            raise BudgetError(f"integer power (exponent {right})", "MAX_INT_DIGITS")
        return check_int(left**right, f"integer power (exponent {right})")
    return left**right


def capped_add(left: Any, right: Any) -> Any:
    kind = type(left)
    if kind is int and type(right) is int:
        result = left + right
        return result if result.bit_length() <= INT_SAFE_BITS else check_int(result)
    if isinstance(left, (str, bytes)) and isinstance(right, (str, bytes)):
        check_string(len(left) + len(right), "concatenation (+)")
        return checked_text(left + right, "concatenation (+)")
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        check_items(len(left) + len(right), "concatenation (+)")
    return check_int(left + right)


def capped_sub(left: Any, right: Any) -> Any:
    return check_int(left - right)


def capped_mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        return capped_printf(left, right, "printf-style formatting (%)")
    return left % right


#: Operators the sandbox hands to `call_binop` (not folded at compile time either).
BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": capped_mul,
    "**": capped_pow,
    "+": capped_add,
    "-": capped_sub,
    "%": capped_mod,
}

# --------------------------------------------------------------------------- ~ and output


def concat_values(autoescape: bool, values: tuple[Any, ...]) -> str:
    """`a ~ b ~ c`: the total length of the texts is known before they are joined."""
    size = 0
    for value in values:
        size += len(value) if isinstance(value, str) else printed_size(value, MAX_STRING)
    check_string(size, "concatenation (~)")
    return checked_text(
        markup_join(values) if autoescape else str_join(values), "concatenation (~)"
    )


_PLAIN = frozenset({str, int, float, bool, type(None)})


@pass_eval_context
def check_output(eval_ctx: Any, value: Any) -> Any:
    """Jinja's `finalize`: a list or mapping printed into the text is measured first. (It
    takes the evaluation context only so that Jinja never folds an output at compile time:
    a workflow is compiled when it is validated, and that must not build big text either.)"""
    if type(value) not in _PLAIN and not isinstance(value, str):
        check_printed(value, "MAX_OUTPUT", "template output")
    return value


def capped_concat(chunks: Iterable[str]) -> str:
    """`Environment.concat`: the rendered text, refused as soon as it passes MAX_OUTPUT (a
    render is consumed a few chunks at a time, measured before they are joined, so a
    template that would print gigabytes stops at the first megabyte)."""
    if isinstance(chunks, OutputBuffer):
        return "".join(chunks)
    rest = iter(chunks)
    batch = list(islice(rest, 256))
    size = sum(map(len, batch))
    if size > MAX_OUTPUT:
        raise BudgetError("template output", "MAX_OUTPUT")
    if len(batch) < 256:  # the whole text, as almost always
        return "".join(batch)
    out = batch
    while batch:
        batch = list(islice(rest, 256))
        size += sum(map(len, batch))
        if size > MAX_OUTPUT:
            raise BudgetError("template output", "MAX_OUTPUT")
        out += batch
    return "".join(out)


class OutputBuffer(list):  # type: ignore[type-arg]
    """The buffer of a macro, `{% set %}`, `{% call %}` or `{% filter %}` block: counts as it
    is written to, so a block cannot pile up more than MAX_OUTPUT before it is joined."""

    size = 0

    def append(self, chunk: str) -> None:
        size = self.size + len(chunk)
        if size > MAX_OUTPUT:
            raise BudgetError("template output", "MAX_OUTPUT")
        self.size = size
        list.append(self, chunk)

    def extend(self, chunks: Iterable[str]) -> None:
        chunks = tuple(chunks)
        size = self.size + sum(map(len, chunks))
        if size > MAX_OUTPUT:
            raise BudgetError("template output", "MAX_OUTPUT")
        self.size = size
        list.extend(self, chunks)


# --------------------------------------------------------------------------- loops and range

_SIZED = frozenset({list, tuple, dict, str, range})


def _spend(context: Any, steps: int) -> None:
    spent = context.loop_steps + steps
    if spent > MAX_LOOP_STEPS:
        raise BudgetError("for-loops", "MAX_LOOP_STEPS")
    context.loop_steps = spent


def loop_budget(context: Any, iterable: Any) -> Any:
    """What a `{% for %}` iterates. A list, mapping, string or range is charged its length
    when the loop starts (a loop has no `break`), anything else one step per item."""
    if type(iterable) in _SIZED:
        _spend(context, len(iterable))
        return iterable
    return _counted(context, iterable)


def _counted(context: Any, iterable: Any) -> Iterator[Any]:
    for item in iterable:
        _spend(context, 1)
        yield item


def capped_range(*args: Any) -> range:
    """`range`, with a message naming the limit."""
    rng = range(*args)
    try:
        too_big = len(rng) > MAX_RANGE
    except OverflowError:
        too_big = True
    if too_big:
        raise BudgetError("range", "MAX_RANGE")
    return rng


# --------------------------------------------------------------------------- method calls


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _padding(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> None:
    width = _arg(args, kwargs, 0, "width", 0)
    if isinstance(width, int):
        check_string(max(len(owner), width), f"str.{name}")


_LINE_BREAKS = re.compile(r"([\t\n\r])")


def expanded_size(text: str, tabsize: int) -> int:
    """`len(text.expandtabs(tabsize))`, without expanding (columns restart at \\n and \\r)."""
    if tabsize <= 0:
        return len(text) - text.count("\t")
    size = column = 0
    for piece in _LINE_BREAKS.split(text):
        if piece == "\t":
            step = tabsize - column % tabsize
            size += step
            column += step
        elif piece in ("\n", "\r"):
            size += 1
            column = 0
        else:
            size += len(piece)
            column += len(piece)
        if size > MAX_STRING:
            break
    return size


def _expandtabs(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> None:
    tabsize = _arg(args, kwargs, 0, "tabsize", 8)
    if not isinstance(tabsize, int):
        return
    text = owner if isinstance(owner, str) else owner.decode("latin-1")
    if len(text) + text.count("\t") * max(tabsize - 1, 0) > MAX_STRING:
        check_string(expanded_size(text, tabsize), f"{type(owner).__name__}.expandtabs")


def replaced_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    """`len(text.replace(old, new, count))`, without replacing."""
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _replace(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> None:
    old, new = _arg(args, kwargs, 0, "old", None), _arg(args, kwargs, 1, "new", None)
    textual = isinstance(owner, str)
    if isinstance(old, str if textual else bytes) and isinstance(new, str if textual else bytes):
        count = _arg(args, kwargs, 2, "count", -1)
        check_string(replaced_size(owner, old, new, count), f"{type(owner).__name__}.replace")


def joined_size(separator: Any, items: list[Any]) -> int:
    """`len(separator.join(items))` for items that are strings (others make `join` raise)."""
    size = sum(len(item) for item in items if isinstance(item, (str, bytes)))
    return size + len(separator) * max(len(items) - 1, 0)


def _translate(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> None:
    table = _arg(args, kwargs, 0, "table", None)
    if not isinstance(owner, str) or not isinstance(table, dict):
        return
    longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
    if len(owner) * longest <= MAX_STRING:
        return
    size = 0
    for char, count in Counter(owner).items():
        mapped = table.get(ord(char), char)
        size += count * (len(mapped) if isinstance(mapped, str) else mapped is not None)
    check_string(size, "str.translate")


#: Guards of the methods of str and bytes that can build more than a small multiple of
#: their input; every other method's result is only measured after it ran.
_TEXT_GUARDS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any], str], None]] = {
    "center": _padding,
    "ljust": _padding,
    "rjust": _padding,
    "zfill": _padding,
    "expandtabs": _expandtabs,
    "replace": _replace,
    "translate": _translate,
}


def call_method(
    call: Callable[..., Any], owner: Any, method: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    """Call a method of a str, bytes or int within budget (`call` does the calling)."""
    name = getattr(method, "__name__", "")
    if isinstance(owner, (str, bytes)):
        guard = _TEXT_GUARDS.get(name)
        if guard is not None:
            guard(owner, args, kwargs, name)
        elif name == "join" and args:
            items = list(args[0])
            check_string(joined_size(owner, items), f"{type(owner).__name__}.join")
            args = (items, *args[1:])
        return checked_text(call(method, *args, **kwargs), f"{type(owner).__name__}.{name}")
    if name == "to_bytes":
        length = _arg(args, kwargs, 0, "length", 1)
        if isinstance(length, int):
            check_string(length, "int.to_bytes")
    return check_int(call(method, *args, **kwargs), f"int.{name}")


def budgeted_call(context: Any, obj: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    """What the sandbox's `call` runs once `obj` is known to be safe to call."""
    owner = getattr(obj, "__self__", None)
    if owner is not None:
        if isinstance(owner, (str, bytes, int)) and not isinstance(owner, bool):
            return call_method(context.call, owner, obj, args, kwargs)
        if owner is int:  # int.from_bytes, reached through an integer
            return check_int(context.call(obj, *args, **kwargs), f"int.{obj.__name__}")
        return context.call(obj, *args, **kwargs)
    if isinstance(obj, (Macro, LoopContext)):
        if type(obj) is LoopContext and args:  # a recursive loop's `loop(children)`
            args = (loop_budget(context, args[0]), *args[1:])
        return _nested(context, obj, args, kwargs)
    return context.call(obj, *args, **kwargs)


def _nested(context: Any, obj: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    depth = context.call_depth + 1
    if depth > MAX_CALL_DEPTH:
        raise BudgetError("macro calls", "MAX_CALL_DEPTH", "would nest more than")
    context.call_depth = depth
    try:
        return context.call(obj, *args, **kwargs)
    finally:
        context.call_depth = depth - 1
