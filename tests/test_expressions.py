"""The expression layer: native values, interpolation, strictness, sandbox, references, and
the fast path agreeing with Jinja."""

from __future__ import annotations

import math
from typing import Any

import pytest

from engines.errors import ExpressionError, ExpressionSyntaxError
from engines.expressions import compile_expression, compile_template
from engines.expressions.compiler import (
    JinjaTextTemplate,
    JinjaValueTemplate,
    KeyTemplate,
    LiteralTemplate,
    PathTemplate,
    PathTextTemplate,
)

SCOPE: dict[str, Any] = {
    "inputs": {"name": "Ada", "n": 3, "user": {"tags": ["a", "b"], "age": 36}, "items": [1, 2]},
    "vars": {"total": 10, "flag": False, "none": None},
    "nodes": {
        "fetch": {"output": {"rows": [{"id": 7}], "items": "key, not method"}, "error": None},
        "odd-id:1": {"output": 42, "error": None},
    },
    "loop": {"index": 1, "iteration": 2, "item": "x", "items": ["w", "x"]},
    "env": {"HOME_REGION": "eu"},
}


def both(template: Any) -> tuple[Any, Any]:
    """Render with the fast path allowed and with Jinja forced; errors become ('error', msg)."""
    out = []
    for fast in (True, False):
        try:
            out.append(compile_template(template, fast=fast).render(SCOPE))
        except ExpressionError as exc:
            out.append(("error", exc.message))
    return out[0], out[1]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ inputs.n }}", 3),
        ("{{ inputs.user }}", {"tags": ["a", "b"], "age": 36}),
        ("{{ inputs.user.tags[1] }}", "b"),
        ("{{ inputs.user.tags.0 }}", "a"),
        ("{{ nodes['odd-id:1'].output }}", 42),
        ("{{ nodes.fetch.output.rows[0].id }}", 7),
        ("{{ vars.flag }}", False),
        ("{{ vars.none }}", None),
        ("{{ inputs.n * 2 }}", 6),
        ("{{ inputs.n / 2 }}", 1.5),
        ("{{ [inputs.n, (1, 2)] }}", [3, [1, 2]]),
        ("{{ inputs.user.tags | length }}", 2),
        ("{{ loop.items }}", ["w", "x"]),
        ("{{ nodes.fetch.output.items }}", "key, not method"),
        ("{{ inputs.items }}", [1, 2]),
        ("Hello {{ inputs.name }}!", "Hello Ada!"),
        ("{{ inputs.n }}{{ inputs.n }}", "33"),
        ("n={{ vars.none }} f={{ vars.flag }}", "n=None f=False"),
        ("{% if vars.flag %}yes{% else %}no{% endif %}", "no"),
        ("{{ env.HOME_REGION }}", "eu"),
        ("plain text", "plain text"),
        (5, 5),
        (None, None),
        ({"a": "{{ inputs.n }}", "b": ["{{ loop.index }}", 2]}, {"a": 3, "b": [1, 2]}),
    ],
)
def test_render_gives_native_values_and_text(source: Any, expected: Any) -> None:
    fast, jinja = both(source)
    assert fast == expected
    assert jinja == expected
    assert type(fast) is type(expected)


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("{{ inputs.n }}", KeyTemplate),
        ("{{ nodes['odd-id:1'].output }}", PathTemplate),
        ("Hi {{ inputs.name }}", PathTextTemplate),
        ("{{ inputs.n + 1 }}", JinjaValueTemplate),
        ("{{ inputs.n|string }} x", JinjaTextTemplate),
        (" {{ inputs.n }}", PathTextTemplate),
        ("text", LiteralTemplate),
        ({"a": 1}, LiteralTemplate),
    ],
)
def test_plain_paths_take_the_fast_path(source: Any, kind: type) -> None:
    assert type(compile_template(source)) is kind


@pytest.mark.parametrize(
    "source",
    [
        "{{ inputs.missing }}",
        "{{ inputs.user.tags[5] }}",
        "{{ inputs.name.first }}",
        "{{ nosuchroot.x }}",
        "{{ parallel.index }}",
        "Hello {{ inputs.missing }}",
        "{{ inputs.n / 0 }}",
        "{{ inputs.user.items }}",
        "{{ inputs.keys }}",
    ],
)
def test_failures_are_expression_errors_on_both_paths(source: str) -> None:
    fast, jinja = both(source)
    assert fast == jinja
    assert fast[0] == "error"
    assert source[:20] in fast[1]


def test_undefined_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(ExpressionError, match="has no attribute 'missing'"):
        compile_template("x{{ inputs.missing }}y").render(SCOPE)


def test_default_filter_still_works_with_strict_undefined() -> None:
    assert compile_template("{{ inputs.missing | default(7) }}").render(SCOPE) == 7
    assert compile_expression("inputs.missing is defined").evaluate(SCOPE) is False


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ inputs.__class__ }}", "unsafe"),
        ("{{ inputs.user.tags.append(1) }}", "unsafe"),
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{{ 'a' * 2000000 }}", "repetition"),
        ("{{ [1] * 2000000 }}", "repetition"),
        ("{{ 7 ** 100000 }}", "exponent"),
        ("{{ range(3) }}", "not JSON data"),
        ("{{ 1e308 * 10 }}", "finite"),
        ("{{ {1: 2} }}", "not a string"),
    ],
)
def test_sandbox_and_json_limits(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        compile_template(source).render(SCOPE)


def test_non_deterministic_helpers_are_removed() -> None:
    with pytest.raises(ExpressionSyntaxError):
        compile_template("{{ [1, 2] | random }}")
    with pytest.raises(ExpressionError):
        compile_template("{{ lipsum() }}").render(SCOPE)


def test_rendering_never_mutates_the_scope() -> None:
    scope = {"vars": {"xs": [1]}}
    with pytest.raises(ExpressionError):
        compile_template("{{ vars.xs.append(2) }}").render(scope)
    assert scope == {"vars": {"xs": [1]}}


def test_values_are_shared_not_copied() -> None:
    rows = SCOPE["nodes"]["fetch"]["output"]["rows"]
    assert compile_template("{{ nodes.fetch.output.rows }}").render(SCOPE) is rows


def test_tuples_become_lists_and_markup_becomes_str() -> None:
    assert compile_template("{{ (1, (2, 3)) }}").render(SCOPE) == [1, [2, 3]]
    value = compile_template("{{ 'a' | e }}").render(SCOPE)
    assert type(value) is str


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("inputs.n > 2", True),
        ("{{ inputs.n > 5 }}", False),
        ("vars.flag", False),
        ("inputs.user.tags", True),
        ("vars.none", False),
        ("'b' in inputs.user.tags and loop.index == 1", True),
    ],
)
def test_expressions_test_truthiness(source: str, expected: bool) -> None:
    assert compile_expression(source).test(SCOPE) is expected
    assert compile_expression(source, fast=False).test(SCOPE) is expected


@pytest.mark.parametrize("source", ["inputs.n >", "a b", "", "   ", "{{ }}", "(1"])
def test_expression_syntax_errors_are_setup_errors(source: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="expression"):
        compile_expression(source)


@pytest.mark.parametrize("source", ["{{ x ", "{% if %}", "{{ 1 + }}", "{% for x in y %}"])
def test_template_syntax_errors_are_setup_errors(source: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="template does not parse"):
        compile_template(source)


def test_compiling_twice_returns_the_cached_object() -> None:
    assert compile_template("{{ inputs.n + 1 }}") is compile_template("{{ inputs.n + 1 }}")
    assert compile_expression("inputs.n > 1") is compile_expression("inputs.n > 1")


class TestReferences:
    def refs(self, source: Any) -> Any:
        return compile_template(source).references

    def test_literal_node_and_var_references(self) -> None:
        refs = self.refs("{{ nodes.a.output + nodes['b-c'].output }} {{ vars.x }} {{ vars['y'] }}")
        assert refs.nodes == {"a", "b-c"}
        assert refs.vars == {"x", "y"}
        assert not refs.all_vars
        assert not refs.dynamic_nodes
        assert refs.roots == {"nodes", "vars"}

    def test_fast_path_references_match_the_tree(self) -> None:
        for source in ("{{ nodes.a.output }}", "{{ vars.x }}", "{{ inputs.q[0] }}"):
            fast = compile_template(source).references
            slow = compile_template(source, fast=False).references
            assert fast == slow

    def test_whole_vars_and_dynamic_nodes(self) -> None:
        assert self.refs("{{ vars | length }}").all_vars
        assert self.refs("{{ vars[inputs.k] }}").all_vars
        assert self.refs("{{ nodes[inputs.k].output }}").dynamic_nodes
        assert self.refs("{{ nodes }}").dynamic_nodes

    def test_jinja_loop_variable_is_not_the_workflow_loop(self) -> None:
        refs = self.refs("{% for x in inputs.items %}{{ loop.index }}{{ x }}{% endfor %}")
        assert refs.roots == {"inputs"}
        assert "loop" in self.refs("{{ loop.index }}").roots

    def test_locally_bound_names_are_not_scope_reads(self) -> None:
        refs = self.refs("{% set vars = 3 %}{{ vars }}")
        assert "vars" not in refs.roots

    def test_nested_structures_union_references(self) -> None:
        refs = self.refs({"a": "{{ vars.x }}", "b": ["{{ nodes.n.output }}", 1]})
        assert refs.vars == {"x"}
        assert refs.nodes == {"n"}


def test_nan_input_passes_through_fast_path_only_as_data() -> None:
    scope = {"inputs": {"x": 1.5}}
    assert compile_template("{{ inputs.x }}").render(scope) == 1.5
    with pytest.raises(ExpressionError):
        compile_template("{{ inputs.x * 1e308 * 10 }}").render(scope)
    assert not math.isnan(compile_template("{{ inputs.x }}").render(scope))
