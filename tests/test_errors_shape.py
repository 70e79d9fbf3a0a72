"""Document shape gets one clear message naming the place: unknown types and fields, wrong
types, templates that do not parse, typed literals, loop/parallel modes, node options,
router names, retry policy (docs/semantics.md §1-§4)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import (
    assert_words,
    end,
    linear,
    loop_doc,
    node,
    one_problem,
    problems,
    set_,
    start,
    tool,
    transform,
    valid,
    workflow,
)

# --------------------------------------------------------------------------- shape


def test_unknown_node_type_suggests_the_closest() -> None:
    problem = one_problem(linear(start(), node("a", "transfrom", value=1)))
    assert problem.location == "nodes[1] (id 'a')"
    assert_words(problem.message, "unknown node type 'transfrom'", "did you mean 'transform'")


def test_unknown_node_type_without_close_match_lists_known_types() -> None:
    problem = one_problem(linear(start(), node("a", "zzzzqqq")))
    assert problem.location == "nodes[1] (id 'a')"
    assert_words(problem.message, "unknown node type 'zzzzqqq'", "transform", "subworkflow")
    assert "did you mean" not in problem.message


def test_node_without_type() -> None:
    problem = one_problem({"id": "w", "nodes": [{"id": "x"}]})
    assert problem.location == "nodes[0] (id 'x')"
    assert_words(problem.message, "no 'type'")


def test_workflow_without_id() -> None:
    problem = one_problem({"nodes": [start()]})
    assert problem.location == "id"
    assert_words(problem.message, "missing")


def test_workflow_without_nodes_at_all() -> None:
    problem = one_problem({"id": "w", "nodes": []})
    assert problem.location == "nodes"
    assert_words(problem.message, "start")


def test_version_must_be_positive() -> None:
    problem = one_problem({"id": "w", "version": 0, "nodes": [start()]})
    assert problem.location == "version"
    assert_words(problem.message, "1")


@pytest.mark.parametrize("bad_id", ["$a", "a b", ""])
def test_node_id_rules(bad_id: str) -> None:
    doc = workflow([start(), transform(bad_id)], [{"source": "start", "target": bad_id or "x"}])
    found = problems(doc)
    at_id = [p for p in found if p.location.startswith("nodes[1]") and p.location.endswith(".id")]
    assert at_id, found
    assert_words(at_id[0].message, "node id")


def test_unknown_field_typo_in_params_is_one_problem() -> None:
    """`vales` for `values` is one mistake: it deserves one message at the typo, not a second
    one saying `values` is missing (validate.py: "no message is a consequence of another")."""
    problem = one_problem(
        linear(start(), {"id": "s", "type": "set", "params": {"vales": {"x": 1}}})
    )
    assert problem.location == "nodes[1] (id 's').params.vales"
    assert_words(problem.message, "unknown field")


def test_unknown_field_typo_is_reported_at_the_typo() -> None:
    found = problems(linear(start(), {"id": "s", "type": "set", "params": {"vales": {"x": 1}}}))
    assert any(
        p.location == "nodes[1] (id 's').params.vales" and "unknown field" in p.message
        for p in found
    ), found


@pytest.mark.parametrize(
    ("doc", "location"),
    [
        ({"id": "w", "nodes": [start()], "outptus": {}}, "outptus"),
        (
            linear(
                start(), {"id": "a", "type": "transform", "params": {"value": 1}, "parnet": "x"}
            ),
            "nodes[1] (id 'a').parnet",
        ),
        (
            {
                "id": "w",
                "nodes": [start(), end()],
                "edges": [{"source": "start", "target": "end", "hande": "out"}],
            },
            "edges[0].hande",
        ),
    ],
)
def test_unknown_fields_everywhere(doc: dict[str, Any], location: str) -> None:
    problem = one_problem(doc)
    assert problem.location == location
    assert_words(problem.message, "unknown field")


def test_unknown_field_in_input_schema() -> None:
    doc = linear(start(), node("i", "input", schema={"type": "string", "minLength": 3}))
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'i').params.schema.minLength"
    assert_words(problem.message, "unknown field")


def test_input_schema_required_names_undeclared_property() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}
    problem = one_problem(linear(start(), node("i", "input", schema=schema)))
    assert problem.location == "nodes[1] (id 'i').params.schema"
    assert_words(problem.message, "required", "'b'")


def test_variable_names_must_be_identifiers() -> None:
    problem = one_problem(linear(start(), set_("s", **{"1x": 1})))
    assert problem.location == "nodes[1] (id 's').params.values"
    assert_words(problem.message, "identifiers", "1x")


def test_initial_variable_names_must_be_identifiers() -> None:
    problem = one_problem(linear(start(), variables={"bad-name": 1}))
    assert problem.location == "variables"
    assert_words(problem.message, "identifiers", "bad-name")


def test_set_needs_at_least_one_value() -> None:
    problem = one_problem(linear(start(), node("s", "set", values={})))
    assert problem.location == "nodes[1] (id 's').params.values"


def test_expression_must_be_a_string() -> None:
    problem = one_problem(linear(start(), node("c", "condition", expression=3)))
    assert problem.location == "nodes[1] (id 'c').params.expression"
    assert_words(problem.message, "expression must be a string", "int")


def test_tool_args_must_be_a_mapping() -> None:
    problem = one_problem(linear(start(), node("t", "tool", tool="echo", args=[1])))
    assert problem.location == "nodes[1] (id 't').params.args"
    assert_words(problem.message, "mapping", "list")


@pytest.mark.parametrize(
    ("doc", "location"),
    [
        ({"id": "w", "nodes": [start()], "edges": {}}, "edges"),
        ({"id": "w", "nodes": {"a": 1}}, "nodes"),
        (
            linear(start(), node("r", "router", routes={"a": "x"})),
            "nodes[1] (id 'r').params.routes",
        ),
        (
            linear(
                start(),
                node("t", "tool", tool="echo", options={"retry": {"non_retryable_codes": "X"}}),
            ),
            "nodes[1] (id 't').retry.non_retryable_codes",
        ),
    ],
)
def test_a_list_that_is_not_a_list_is_called_a_list(doc: dict[str, Any], location: str) -> None:
    """Documents are JSON/YAML: the message must say a *list* is expected, not pydantic's
    'valid tuple' (problems.py: pydantic's wording is replaced where a user would otherwise
    have to know pydantic)."""
    problem = one_problem(doc)
    assert problem.location == location
    assert "list" in problem.message and "tuple" not in problem.message, problem.message


def test_params_that_are_not_a_mapping_are_called_a_mapping() -> None:
    problem = one_problem(linear(start(), {"id": "a", "type": "set", "params": [1]}))
    assert problem.location == "nodes[1] (id 'a').params"
    assert "mapping" in problem.message, problem.message
    assert "SetParams" not in problem.message, problem.message


# --------------------------------------------------------------------------- templates


def test_template_that_does_not_parse_in_set_values() -> None:
    problem = one_problem(linear(start(), set_("a", x="{{ inputs.x + }}")))
    assert problem.location == "nodes[1] (id 'a').params.values.x"
    assert_words(problem.message, "does not parse")


def test_expression_that_does_not_parse_in_router_when() -> None:
    doc = linear(start(), node("r", "router", routes=[{"name": "a", "when": "inputs.x >"}]))
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'r').params.routes[0].when"
    assert_words(problem.message, "does not parse")


def test_template_that_does_not_parse_in_end_outputs() -> None:
    problem = one_problem(linear(start(), end(r="{{ ( }}")))
    assert problem.location == "nodes[1] (id 'end').params.outputs.r"
    assert_words(problem.message, "does not parse")


def test_template_that_does_not_parse_in_workflow_variables() -> None:
    problem = one_problem(linear(start(), variables={"v": "{% if %}"}))
    assert problem.location == "variables.v"
    assert_words(problem.message, "does not parse")


def test_template_that_does_not_parse_in_tool_args_is_reported() -> None:
    doc = linear(start(), tool("t", deep={"inner": ["ok", "{{ oops( }}"]}))
    problem = one_problem(doc)
    assert problem.location.startswith("nodes[1] (id 't').params.args")
    assert_words(problem.message, "does not parse")


def test_template_that_does_not_parse_in_nested_tool_args_names_the_exact_place() -> None:
    """§4: 'one message per problem naming the place'. A bad template three levels down in
    `args` must be located there (`params.args.deep.inner[1]`, as `set` values are), or at
    least quoted, not just blamed on the whole `params.args` mapping."""
    doc = linear(start(), tool("t", deep={"inner": ["ok", "{{ oops( }}"]}))
    problem = one_problem(doc)
    text = str(problem)
    assert "args.deep.inner[1]" in text or "oops(" in text, text


def test_template_that_does_not_parse_in_idempotency_key() -> None:
    doc = linear(start(), node("t", "tool", tool="echo", options={"idempotency_key": "{{ x("}))
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 't').idempotency_key"
    assert_words(problem.message, "does not parse")


# --------------------------------------------------------------------------- typed literals


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"mode": "for", "count": -1}, "count", ("whole number >= 0", "-1")),
        ({"mode": "for", "count": True}, "count", ("whole number >= 0", "bool")),
        ({"mode": "for", "count": 2.5}, "count", ("whole number >= 0",)),
        ({"mode": "forEach", "items": "abc"}, "items", ("must be a list", "str")),
        ({"mode": "forEach", "items": {"a": 1}}, "items", ("must be a list", "dict")),
        (
            {"mode": "for", "count": 1, "max_iterations": 0},
            "max_iterations",
            ("whole number >= 1",),
        ),
    ],
)
def test_loop_literals_are_checked(
    params: dict[str, Any], field: str, words: tuple[str, ...]
) -> None:
    problem = one_problem(loop_doc(**params))
    assert problem.location == f"nodes[1] (id 'L').params.{field}"
    assert_words(problem.message, *words)


def test_integral_float_count_is_accepted() -> None:
    validated = valid(loop_doc(mode="for", count=3.0))
    assert validated.topology.levels["L"].nodes == ("ls",)


def test_templated_count_is_not_checked_statically() -> None:
    valid(loop_doc(mode="for", count="{{ inputs.n }}"))


def test_negative_seconds() -> None:
    problem = one_problem(linear(start(), node("w", "wait", seconds=-1)))
    assert problem.location == "nodes[1] (id 'w').params.seconds"
    assert_words(problem.message, "seconds >= 0", "-1")


@pytest.mark.parametrize("code", ["BAD CODE", "", " "])
def test_fail_code_without_spaces(code: str) -> None:
    problem = one_problem(linear(start(), node("f", "fail", code=code)))
    assert problem.location == "nodes[1] (id 'f').params.code"
    assert_words(problem.message, "without spaces")


def test_parallel_max_concurrency_must_be_positive() -> None:
    doc = workflow(
        [
            start(),
            node("P", "parallel", mode="count", count=2, max_concurrency=0),
            start("ps", parent="P"),
        ],
        ["start -> P"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'P').params.max_concurrency"
    assert_words(problem.message, ">= 1")


# --------------------------------------------------------------------------- modes


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"mode": "for"}, ("mode 'for'", "needs 'count'")),
        ({"mode": "forEach"}, ("mode 'forEach'", "needs 'items'")),
        ({"mode": "while"}, ("mode 'while'", "needs 'condition'")),
        ({"mode": "doWhile"}, ("mode 'doWhile'", "needs 'condition'")),
        ({"mode": "for", "count": 1, "items": [1]}, ("mode 'for'", "does not use 'items'")),
        (
            {"mode": "while", "condition": "true", "count": 1},
            ("mode 'while'", "does not use 'count'"),
        ),
        (
            {"mode": "forEach", "items": [], "condition": "x"},
            ("mode 'forEach'", "does not use 'condition'"),
        ),
    ],
)
def test_loop_mode_fields(params: dict[str, Any], words: tuple[str, ...]) -> None:
    problem = one_problem(loop_doc(**params))
    assert problem.location == "nodes[1] (id 'L').params"
    assert_words(problem.message, *words)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"mode": "collection"}, ("mode 'collection'", "needs 'items'")),
        ({"mode": "count"}, ("mode 'count'", "needs 'count'")),
        ({"mode": "count", "count": 1, "items": []}, ("mode 'count'", "does not use 'items'")),
        (
            {"mode": "collection", "items": [], "count": 1},
            ("mode 'collection'", "does not use 'count'"),
        ),
    ],
)
def test_parallel_mode_fields(params: dict[str, Any], words: tuple[str, ...]) -> None:
    doc = workflow(
        [start(), node("P", "parallel", **params), start("ps", parent="P")], ["start -> P"]
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'P').params"
    assert_words(problem.message, *words)


def test_unknown_loop_mode() -> None:
    problem = one_problem(loop_doc(mode="repeat", count=1))
    assert problem.location == "nodes[1] (id 'L').params.mode"
    assert_words(problem.message, "for", "forEach", "while", "doWhile")


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("the_node", "option", "words"),
    [
        (
            node("s", "set", values={"x": 1}, options={"retry": {"max_attempts": 2}}),
            "retry",
            ("retry", "tool, wait and fail"),
        ),
        (
            node("s", "transform", value=1, options={"timeout": 3}),
            "timeout",
            ("timeout", "tool and wait"),
        ),
        (
            node("s", "set", values={"x": 1}, options={"idempotency_key": "k"}),
            "idempotency_key",
            ("idempotency_key", "tool"),
        ),
        (
            node("s", "wait", seconds=1, options={"compensate": {"tool": "echo"}}),
            "compensate",
            ("compensate", "tool and subworkflow"),
        ),
        (
            node("s", "fail", code="X", options={"timeout": 1}),
            "timeout",
            ("timeout", "tool and wait"),
        ),
        (
            node("s", "subworkflow", workflow="w", options={"retry": {}}),
            "retry",
            ("retry", "tool, wait and fail"),
        ),
    ],
)
def test_option_on_unsupported_node_type(
    the_node: dict[str, Any], option: str, words: tuple[str, ...]
) -> None:
    problem = one_problem(linear(start(), the_node))
    assert problem.location == f"nodes[1] (id 's').{option}"
    assert_words(problem.message, "only supported", *words)


def test_options_on_supported_node_types_are_accepted() -> None:
    retry = {"max_attempts": 3, "initial_interval": 0.5}
    valid(
        linear(
            start(),
            node(
                "t",
                "tool",
                tool="echo",
                options={
                    "retry": retry,
                    "timeout": 2,
                    "compensate": {"tool": "echo"},
                    "idempotency_key": "{{ inputs.k }}",
                },
            ),
            node("w", "wait", seconds=1, options={"retry": retry, "timeout": 5}),
            node("f", "fail", code="X", options={"retry": retry}),
        )
    )


def test_retry_max_interval_below_initial_interval() -> None:
    retry = {"max_attempts": 3, "initial_interval": 5, "max_interval": 1}
    problem = one_problem(linear(start(), node("t", "tool", tool="echo", options={"retry": retry})))
    assert problem.location == "nodes[1] (id 't').retry"
    assert_words(problem.message, "max_interval", "initial_interval")


def test_retry_backoff_below_one() -> None:
    retry = {"backoff_coefficient": 0.5}
    problem = one_problem(linear(start(), node("t", "tool", tool="echo", options={"retry": retry})))
    assert problem.location == "nodes[1] (id 't').retry.backoff_coefficient"


def test_timeout_must_be_positive() -> None:
    problem = one_problem(linear(start(), node("t", "tool", tool="echo", options={"timeout": 0})))
    assert problem.location == "nodes[1] (id 't').timeout"
    assert_words(problem.message, "greater than 0")


# --------------------------------------------------------------------------- routers


@pytest.mark.parametrize("name", ["default", "error", "out"])
def test_router_reserved_route_name(name: str) -> None:
    doc = linear(start(), node("r", "router", routes=[{"name": name, "when": "true"}]))
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'r').params.routes[0].name"
    assert_words(problem.message, f"'{name}'", "reserved")


def test_router_duplicate_route_names() -> None:
    routes = [{"name": "a", "when": "true"}, {"name": "a", "when": "false"}]
    problem = one_problem(linear(start(), node("r", "router", routes=routes)))
    assert problem.location == "nodes[1] (id 'r').params.routes"
    assert_words(problem.message, "'a'", "twice")


def test_router_needs_a_route() -> None:
    problem = one_problem(linear(start(), node("r", "router", routes=[])))
    assert problem.location == "nodes[1] (id 'r').params.routes"
    assert_words(problem.message, "at least one route")


@pytest.mark.parametrize("schema_type", ["strng", ["string", 5], []])
def test_input_schema_type_is_one_plain_message_without_union_names(schema_type: Any) -> None:
    doc = linear(start(), node("i", "input", schema={"type": schema_type}))
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'i').params.schema.type"
    assert_words(problem.message, "string", "integer", "list of them")
    assert "literal[" not in str(problem)
