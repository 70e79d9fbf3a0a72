"""The measures the budgets refuse by, against what Python and Jinja really build: an estimate
is never above the real length (so nothing within a limit is refused), an exact measure is
exact, and a capped filter renders exactly what Jinja's own would."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Environment
from jinja2 import filters as jf

from engines.expressions.budgets import int_digits_at_least, printed_size
from engines.expressions.filters import capped_wordwrap, indented_size
from engines.expressions.formats import printf_size, spec_size
from engines.expressions.guards import expanded_size, replaced_size

JINJA = Environment()
FAST = settings(max_examples=300, deadline=None)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
    ),
    max_leaves=20,
)


@FAST
@given(values)
def test_printed_size_is_at_most_the_printed_length(value: Any) -> None:
    assert printed_size(value, 10**9) <= len(str(value))
    assert printed_size(value, 10**9) <= len(json.dumps(value))


@FAST
@given(values, st.integers(min_value=0, max_value=6))
def test_printed_size_with_indentation_is_at_most_the_indented_json(
    value: Any, indent: int
) -> None:
    assert printed_size(value, 10**9, indent) <= len(json.dumps(value, indent=indent))


@FAST
@given(st.integers(min_value=-(10**3000), max_value=10**3000))
def test_digits_from_bits_are_at_most_the_digits(value: int) -> None:
    assert int_digits_at_least(value) <= len(str(value))


printf_pieces = st.lists(
    st.sampled_from(
        [
            "ab",
            " ",
            "%s",
            "%5s",
            "%-8r",
            "%.3s",
            "%d",
            "%07.2f",
            "%*d",
            "%.*f",
            "%%",
            "%x",
            "%c",
            "%0000000004d",
            "%.0000000002f",
        ]
    ),
    max_size=6,
)
printf_args = st.one_of(
    st.integers(min_value=0, max_value=40), st.floats(-1e6, 1e6), st.text(max_size=8), values
)


@FAST
@given(printf_pieces, st.lists(printf_args, max_size=8))
def test_printf_size_is_at_most_the_formatted_length(pieces: list[str], args: list[Any]) -> None:
    text = "".join(pieces)
    try:
        result = text % tuple(args)
    except (TypeError, ValueError, OverflowError):
        return
    assert printf_size(text, tuple(args)) <= len(result)


specs = st.sampled_from(
    [
        "",
        ">10",
        "<3",
        "^7",
        "*^9",
        "+",
        "08.3f",
        ".2e",
        ",",
        "_d",
        "x",
        "#o",
        ".5",
        ".1%",
        "=12",
        "g",
        ".40g",
    ]
)


@FAST
@given(
    st.one_of(st.integers(-(10**30), 10**30), st.floats(-1e30, 1e30), st.text(max_size=10), values),
    specs,
)
def test_spec_size_is_at_most_the_formatted_length(value: Any, spec: str) -> None:
    try:
        result = format(value, spec)
    except (TypeError, ValueError):
        return
    assert spec_size(value, spec) <= len(result)


text = st.text(alphabet="ab \t\n\r-", max_size=40)


@FAST
@given(
    text,
    st.sampled_from(["", "a", "ab", " "]),
    st.text(alphabet="xy", max_size=4),
    st.integers(-1, 5),
)
def test_replaced_size_is_exact(s: str, old: str, new: str, count: int) -> None:
    assert replaced_size(s, old, new, count) == len(s.replace(old, new, count))


@FAST
@given(text, st.integers(-2, 12))
def test_expanded_size_is_exact(s: str, tabsize: int) -> None:
    assert expanded_size(s, tabsize) == len(s.expandtabs(tabsize))


@FAST
@given(text, st.integers(0, 6), st.booleans(), st.booleans())
def test_indented_size_is_exact(s: str, width: int, first: bool, blank: bool) -> None:
    assert indented_size(s, width, first, blank) == len(jf.do_indent(s, width, first, blank))


wrappable = st.lists(
    st.sampled_from(
        ["a", "bb", "ccc-dd", " ", "\t", "\n", "\r\n", "\x0b", "\x1c", "\u2028", "x" * 15]
    ),
    max_size=30,
).map("".join)


@FAST
@given(
    wrappable,
    st.integers(1, 12),
    st.booleans(),
    st.booleans(),
    st.sampled_from([None, "\n", "<br>", ""]),
)
def test_capped_wordwrap_renders_what_jinja_renders(
    s: str, width: int, breaks: bool, hyphens: bool, wrapstring: str | None
) -> None:
    expected = jf.do_wordwrap(JINJA, s, width, breaks, wrapstring, hyphens)
    assert capped_wordwrap(JINJA, s, width, breaks, wrapstring, hyphens) == expected
