"""Property tests: the fast path agrees with Jinja on every path and text the generator tries,
and no input makes the expression layer raise anything but its own errors."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines.errors import ExpressionError, ExpressionSyntaxError
from engines.expressions import SCOPE_NAMES, compile_expression, compile_template
from engines.expressions.values import is_json

# Keys that are also attribute names of dict/list/str, to catch any attribute-first slip.
KEYS = ["a", "b", "items", "keys", "values", "get", "upper", "count", "x-y", "0", "output"]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "s", "ünï", "{{ not a template }}"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    ),
    max_leaves=20,
)
scopes = st.fixed_dictionaries(
    {},
    optional={
        name: st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4)
        for name in SCOPE_NAMES
    },
)


@st.composite
def paths(draw: st.DrawFn) -> str:
    root = draw(st.sampled_from([*SCOPE_NAMES, "other"]))
    text = root
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["dot", "str", "int", "dotint"]))
        if kind == "dot":
            text += "." + draw(st.sampled_from([k for k in KEYS if k.isidentifier()]))
        elif kind == "str":
            text += f"[{draw(st.sampled_from(KEYS))!r}]"
        elif kind == "int":
            text += f"[{draw(st.integers(0, 4))}]"
        else:
            text += f".{draw(st.integers(0, 4))}"
    return text


def outcome(source: Any, scope: dict[str, Any], fast: bool) -> Any:
    try:
        return ("ok", compile_template(source, fast=fast).render(scope))
    except ExpressionError as exc:
        return ("error", exc.message)


examples = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@examples
@given(scopes, paths())
def test_fast_path_agrees_with_jinja_on_paths(scope: dict[str, Any], path: str) -> None:
    source = "{{ " + path + " }}"
    assert outcome(source, scope, True) == outcome(source, scope, False)


@examples
@given(
    scopes,
    st.lists(
        st.one_of(
            paths().map(lambda p: "{{ " + p + " }}"),
            st.sampled_from(["", "-", " text ", "{ }", "}"]),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_fast_path_agrees_with_jinja_on_text(scope: dict[str, Any], parts: list[str]) -> None:
    source = "".join(parts)
    assert outcome(source, scope, True) == outcome(source, scope, False)


@examples
@given(scopes, paths())
def test_fast_expressions_agree_with_jinja(scope: dict[str, Any], path: str) -> None:
    results = []
    for fast in (True, False):
        try:
            results.append(("ok", compile_expression(path, fast=fast).test(scope)))
        except ExpressionError as exc:
            results.append(("error", exc.message))
    assert results[0] == results[1]


TOKENS = [
    *"{}%#()[]|.'\"+-*/ ~=<>!",
    "inputs",
    "vars",
    "a",
    "1",
    "x",
    " if ",
    " for ",
    " in ",
    " endfor ",
    " else ",
    "loop",
    "{{ ",
    " }}",
    "{% ",
    " %}",
]
jinja_ish = st.lists(st.sampled_from(TOKENS), max_size=16).map("".join)


@examples
@given(jinja_ish, scopes)
def test_any_template_compiles_or_fails_cleanly(source: str, scope: dict[str, Any]) -> None:
    try:
        template = compile_template(source)
    except ExpressionSyntaxError as exc:
        assert str(exc)
        return
    try:
        value = template.render(scope)
    except ExpressionError as exc:
        assert exc.code == "EXPRESSION_ERROR"
        return
    assert is_json(value)


@examples
@given(jinja_ish, scopes)
def test_any_expression_compiles_or_fails_cleanly(source: str, scope: dict[str, Any]) -> None:
    try:
        expression = compile_expression(source)
    except ExpressionSyntaxError as exc:
        assert str(exc)
        return
    try:
        expression.test(scope)
    except ExpressionError as exc:
        assert exc.message
