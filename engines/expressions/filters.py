"""Jinja's filters, wrapped in budgets (docs/semantics.md §5, "Budgets").

A filter that can build far more than it is given (`center(999999999)`, `indent`,
`wordwrap`, `join`, `replace`, `format`, `tojson(indent=...)`, `sum(start=[])`, `batch`,
`slice`) is measured first, from its arguments; a filter that turns a value into text
(`string`, `upper`, `escape`, ...) first measures the text of a list or mapping, which may
hold the same big list a million times; and every text a filter returns is held to
MAX_STRING. The wrappers call Jinja's own filters, so within budget nothing changes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from functools import wraps
from itertools import chain
from typing import Any

from jinja2 import filters as jf
from jinja2.utils import pass_environment, pass_eval_context

from engines.expressions.budgets import (
    MAX_STRING,
    BudgetError,
    check_int,
    check_items,
    check_printed,
    check_string,
    checked_text,
    printed_size,
)
from engines.expressions.formats import printf_size
from engines.expressions.guards import replaced_size

Filter = Callable[..., Any]

#: Filters that print their value (a list or mapping is measured before it is printed).
_PRINTING = (
    "capitalize",
    "e",
    "escape",
    "forceescape",
    "lower",
    "pprint",
    "safe",
    "string",
    "striptags",
    "title",
    "trim",
    "upper",
    "urlencode",
    "urlize",
    "wordcount",
    "xmlattr",
)
#: Filters whose text is at most a small multiple of their input: measured afterwards.
_BOUNDED = ("truncate", "reverse")


def _text(value: Any, what: str) -> str:
    """`value` as text, a list or mapping measured before it is printed."""
    if isinstance(value, str):
        return value
    check_printed(value, "MAX_STRING", what)
    return str(value)


def _measured(fn: Filter, name: str, printing: bool) -> Filter:
    what = f"the {name} filter"
    at = 1 if getattr(fn, "jinja_pass_arg", None) is not None else 0

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if printing and len(args) > at and not isinstance(args[at], str):
            check_printed(args[at], "MAX_STRING", what)
        return checked_text(fn(*args, **kwargs), what)

    return wrapper


def capped_center(value: Any, width: Any = 80) -> str:
    text = _text(value, "the center filter")
    if isinstance(width, int):
        check_string(max(len(text), width), "the center filter")
    return jf.do_center(text, width)


def capped_format(value: Any, *args: Any, **kwargs: Any) -> str:
    text = _text(value, "the format filter")
    if not (args and kwargs) and printf_size(text, kwargs or args) > MAX_STRING:
        raise BudgetError("the format filter", "MAX_STRING")
    return checked_text(jf.do_format(text, *args, **kwargs), "the format filter")


def indented_size(text: str, indent: int, first: bool, blank: bool) -> int:
    """`len(text|indent(...))` for an indentation of `indent` characters, without indenting."""
    lines = (text + "\n").splitlines()
    size = sum(map(len, lines)) + len(lines) - 1
    if blank:
        size += indent * (len(lines) - 1)
    else:
        size += indent * sum(1 for line in lines[1:] if line)
    return size + indent * bool(first)


def capped_indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> str:
    if isinstance(s, str) and isinstance(width, (int, str)):
        indent = len(width) if isinstance(width, str) else max(width, 0)
        if len(s) + (len(s) + 2) * (indent + 1) > MAX_STRING:
            check_string(indented_size(s, indent, first, blank), "the indent filter")
    return checked_text(jf.do_indent(s, width, first, blank), "the indent filter")


#: What textwrap treats as whitespace, and the other line breaks `splitlines` removes.
_WHITESPACE = "\t\n\x0b\x0c\r \x1c\x1d\x1e\x85\u2028\u2029"
_TEXTWRAP_WHITESPACE = "\t\n\x0b\x0c\r "


def _wrap(paragraph: str, width: int, breaks: bool, hyphens: bool) -> list[str]:
    """`textwrap.wrap` as Jinja's `wordwrap` calls it."""
    return textwrap.wrap(
        paragraph,
        width=width,
        expand_tabs=False,
        replace_whitespace=False,
        break_long_words=breaks,
        break_on_hyphens=hyphens,
    )


@pass_environment
def capped_wordwrap(
    environment: Any,
    s: Any,
    width: Any = 79,
    break_long_words: bool = True,
    wrapstring: Any = None,
    break_on_hyphens: bool = True,
) -> str:
    """Jinja's `wordwrap`, measured before the lines are joined."""
    joiner = environment.newline_sequence if wrapstring is None else wrapstring
    if not (isinstance(s, str) and isinstance(joiner, str) and type(width) is int and width > 0):
        result = jf.do_wordwrap(
            environment, s, width, break_long_words, wrapstring, break_on_hyphens
        )
        return checked_text(result, "the wordwrap filter")
    if len(s) + (len(s) + 1) * len(joiner) > MAX_STRING:
        # Wrapping keeps every character but whitespace, at most `width` to a line when
        # long words are broken: a lower bound that refuses the worst cases without wrapping.
        kept = len(s) - sum(map(s.count, _WHITESPACE))
        lines = -(-kept // width) if break_long_words else 1
        check_string(kept + max(lines - 1, 0) * len(joiner), "the wordwrap filter")
    # A paragraph that fits on one line is that line without its trailing whitespace, as
    # textwrap would return it, but without calling textwrap: at microseconds a call, a
    # million empty lines took seconds.
    wrapped = [
        ([line] if (line := p.rstrip(_TEXTWRAP_WHITESPACE)) else [])
        if len(p) <= width
        else _wrap(p, width, break_long_words, break_on_hyphens)
        for p in s.splitlines()
    ]
    lines = sum(map(len, wrapped))
    breaks = lines - (len(wrapped) - wrapped.count([])) + max(len(wrapped) - 1, 0)
    size = sum(map(len, chain.from_iterable(wrapped))) + len(joiner) * breaks
    check_string(size, "the wordwrap filter")
    return joiner.join(map(joiner.join, wrapped))


@pass_eval_context
def capped_join(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> str:
    if attribute is not None:
        value = map(jf.make_attrgetter(eval_ctx.environment, attribute), value)
    items = list(value)
    size = len(_text(d, "the join filter")) * max(len(items) - 1, 0)
    for item in items:
        size += len(item) if isinstance(item, str) else printed_size(item, MAX_STRING)
        if size > MAX_STRING:
            break
    check_string(size, "the join filter")
    return checked_text(jf.sync_do_join(eval_ctx, items, d), "the join filter")


@pass_eval_context
def capped_replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> str:
    what = "the replace filter"
    text, old, new = _text(s, what), _text(old, what), _text(new, what)
    check_string(replaced_size(text, old, new, -1 if count is None else count), what)
    return checked_text(jf.do_replace(eval_ctx, text, old, new, count), what)


@pass_environment
def capped_sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    if attribute is not None:
        iterable = map(jf.make_attrgetter(environment, attribute), iterable)
    items = list(iterable)
    kind = type(start)
    if kind is list or kind is tuple:
        # Python's sum would copy the growing list once per item: join them in one go,
        # and let `+` raise exactly as `sum` would at the first item of another kind.
        same = 0
        while same < len(items) and type(items[same]) is kind:
            same += 1
        check_items(len(start) + sum(map(len, items[:same])), "the sum filter")
        total = kind(chain(start, *items[:same]))
        for item in items[same:]:
            total = total + item
        return total
    return check_int(sum(items, start), "the sum filter")


def capped_int(value: Any, default: Any = 0, base: Any = 10) -> Any:
    return check_int(jf.do_int(value, default, base), "the int filter")


def capped_batch(value: Any, linecount: Any, fill_with: Any = None) -> Any:
    if fill_with is not None and isinstance(linecount, int):
        check_items(linecount, "the batch filter")
    return jf.do_batch(value, linecount, fill_with)


def capped_slice(value: Any, slices: Any, fill_with: Any = None) -> Any:
    if isinstance(slices, int):
        check_items(slices, "the slice filter")
    return jf.sync_do_slice(value, slices, fill_with)


@pass_eval_context
def capped_tojson(eval_ctx: Any, value: Any, indent: Any = None) -> Any:
    per_item = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    check_printed(value, "MAX_STRING", "the tojson filter", max(per_item, 0))
    return checked_text(jf.do_tojson(eval_ctx, value, indent), "the tojson filter")


_CAPPED: dict[str, Filter] = {
    "batch": capped_batch,
    "center": capped_center,
    "format": capped_format,
    "indent": capped_indent,
    "int": capped_int,
    "join": capped_join,
    "replace": capped_replace,
    "slice": capped_slice,
    "sum": capped_sum,
    "tojson": capped_tojson,
    "wordwrap": capped_wordwrap,
}


def budgeted_filters(filters: dict[str, Filter]) -> dict[str, Filter]:
    """`filters` with every filter that builds text or lists replaced by its capped form."""
    out = dict(filters)
    for name in _PRINTING:
        if name in out:
            out[name] = _measured(out[name], name, printing=True)
    for name in _BOUNDED:
        if name in out:
            out[name] = _measured(out[name], name, printing=False)
    out.update({name: fn for name, fn in _CAPPED.items() if name in out})
    return out
