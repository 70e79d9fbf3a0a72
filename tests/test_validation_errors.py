"""Every bad document gets one clear message naming the place (docs/semantics.md §1-§4)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    assert_words,
    chain,
    condition,
    end,
    linear,
    loop_for,
    node,
    one_problem,
    parallel_count,
    problems,
    router,
    set_,
    start,
    tool,
    transform,
    valid,
    workflow,
    write,
)

from engines.documents import fixture_from_data, load_fixture, load_workflow, read_document
from engines.errors import DocumentError, FixtureInvalid, Problem, WorkflowInvalid
from engines.model import WorkflowRegistry, validate_workflow
from engines.tools import builtin_registry

# --------------------------------------------------------------------------- files


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.json", '{\n  "id": "x",\n  "nodes": [,]\n}\n')
    with pytest.raises(DocumentError) as info:
        read_document(path)
    message = str(info.value)
    assert str(path) in message
    assert_words(message, "not valid JSON", "line 3", "column 13")


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", "id: x\nnodes:\n  - id: a\n   type: start\n")
    with pytest.raises(DocumentError) as info:
        read_document(path)
    message = str(info.value)
    assert str(path) in message
    assert_words(message, "not valid YAML", "line 4", "column")


def test_unclosed_yaml_flow_sequence_names_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yml", "id: x\nnodes: [a, b\n")
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert_words(str(info.value), "not valid YAML", "line 3")


def test_duplicate_key_in_yaml_names_key_and_line(tmp_path: Path) -> None:
    text = "id: x\nnodes:\n  - id: a\n    type: start\n    type: end\n"
    path = write(tmp_path / "dup.yaml", text)
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert_words(str(info.value), "duplicate key 'type'", "line 5")


def test_duplicate_key_in_json_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.json", '{"id": "x", "nodes": [], "id": "y"}')
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert_words(str(info.value), str(path), "duplicate key 'id'")


def test_duplicate_key_in_json_names_the_place(tmp_path: Path) -> None:
    """A duplicate key deep in a JSON file must say where it is (a line, or the path to
    the mapping), as the YAML reader does: `duplicate key 'type'` alone is not enough in a
    file with dozens of nodes."""
    text = (
        '{\n  "id": "x",\n  "nodes": [\n    {"id": "s", "type": "start"},\n'
        '    {"id": "a", "type": "transform", "type": "end"}\n  ]\n}\n'
    )
    path = write(tmp_path / "dup-deep.json", text)
    with pytest.raises(DocumentError) as info:
        read_document(path)
    message = str(info.value)
    assert_words(message, "duplicate key 'type'")
    assert "line 5" in message or "nodes[1]" in message, message


def test_duplicate_key_in_yaml_workflow_via_load_workflow(tmp_path: Path) -> None:
    path = write(tmp_path / "wf.yaml", "id: a\nid: b\nnodes: []\n")
    with pytest.raises(DocumentError) as info:
        load_workflow(path)
    assert_words(str(info.value), "duplicate key 'id'", "line 2")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "nan.json",
            '{"id": "w", "nodes": [{"id": "s", "type": "start"}, '
            '{"id": "a", "type": "transform", "params": {"value": NaN}}], '
            '"edges": [{"source": "s", "target": "a"}]}',
        ),
        (
            "inf.yaml",
            "id: w\nnodes:\n  - {id: s, type: start}\n"
            "  - {id: a, type: transform, params: {value: .inf}}\n"
            "edges:\n  - {source: s, target: a}\n",
        ),
    ],
)
def test_non_finite_literal_is_not_json_data(tmp_path: Path, name: str, text: str) -> None:
    """Templates are JSON values (§5): NaN/Infinity are not, and a literal one would reach an
    engine's outputs (and be silently turned into null by the content hash)."""
    path = write(tmp_path / name, text)
    with pytest.raises((DocumentError, WorkflowInvalid)) as info:
        load_workflow(path)
    message = str(info.value)
    assert "params.value" in message or "line" in message, message


def test_non_string_key_in_literal_args_is_not_json_data(tmp_path: Path) -> None:
    """YAML allows `{1: x}`; JSON data has string keys only (§5). `set.values` refuses it, so
    must tool args."""
    text = (
        "id: w\nnodes:\n  - {id: s, type: start}\n"
        "  - {id: t, type: tool, params: {tool: echo, args: {1: x}}}\n"
        "edges:\n  - {source: s, target: t}\n"
    )
    path = write(tmp_path / "keys.yaml", text)
    with pytest.raises((DocumentError, WorkflowInvalid)) as info:
        load_workflow(path)
    assert "args" in str(info.value) or "line 4" in str(info.value)


def test_missing_file_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as info:
        read_document(tmp_path / "nope.json")
    assert_words(str(info.value), "nope.json", "no such file")


def test_directory_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as info:
        read_document(tmp_path)
    assert_words(str(info.value), "directory")


def test_non_utf8_file_is_a_document_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert_words(str(info.value), "UTF-8")


def test_unsafe_yaml_tag_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "evil.yaml", "a: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert_words(str(info.value), "not valid YAML", "line 1")


def test_document_that_is_neither_workflow_nor_fixture(tmp_path: Path) -> None:
    path = write(tmp_path / "other.yaml", {"hello": 1, "world": 2})
    with pytest.raises(DocumentError) as info:
        load_workflow(path)
    assert_words(str(info.value), "nodes", "cases", "hello")


def test_workflow_that_is_not_a_mapping() -> None:
    problem = one_problem([1, 2, 3])
    assert_words(problem.message, "mapping", "list")


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


def _loop_doc(**params: Any) -> dict[str, Any]:
    return workflow([start(), node("L", "loop", **params), start("ls", parent="L")], ["start -> L"])


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
    problem = one_problem(_loop_doc(**params))
    assert problem.location == f"nodes[1] (id 'L').params.{field}"
    assert_words(problem.message, *words)


def test_integral_float_count_is_accepted() -> None:
    validated = valid(_loop_doc(mode="for", count=3.0))
    assert validated.topology.levels["L"].nodes == ("ls",)


def test_templated_count_is_not_checked_statically() -> None:
    valid(_loop_doc(mode="for", count="{{ inputs.n }}"))


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
    problem = one_problem(_loop_doc(**params))
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
    problem = one_problem(_loop_doc(mode="repeat", count=1))
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


# --------------------------------------------------------------------------- structure


def test_missing_start() -> None:
    problem = one_problem(workflow([transform("a")]))
    assert problem.location == "nodes"
    assert_words(problem.message, "top level", "no start")


def test_two_starts() -> None:
    problem = one_problem(workflow([start("s1"), start("s2")]))
    assert problem.location == "nodes"
    assert_words(problem.message, "2 start nodes", "s1", "s2", "exactly one")


def test_two_starts_in_a_body() -> None:
    doc = workflow(
        [start(), loop_for("L"), start("a", parent="L"), start("b", parent="L")], ["start -> L"]
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'L')"
    assert_words(problem.message, "body of loop 'L'", "a, b")


def test_duplicate_node_ids() -> None:
    problem = one_problem(workflow([start(), transform("a"), transform("a")], chain("start", "a")))
    assert problem.location.startswith("nodes[2]")
    assert_words(problem.message, "duplicate node id 'a'", "nodes[1]")


def test_edge_to_a_node_that_does_not_exist() -> None:
    problem = one_problem(workflow([start()], ["start -> ghost"]))
    assert problem.location == "edges[0] (start -> ghost)"
    assert_words(problem.message, "target 'ghost'", "not a node")


def test_edge_from_and_to_nodes_that_do_not_exist() -> None:
    problem = one_problem(workflow([start()], ["g1 -> g2"]))
    assert problem.location == "edges[0] (g1 -> g2)"
    assert_words(problem.message, "source 'g1'", "target 'g2'", "not nodes")


def test_edge_with_true_handle_out_of_a_tool_node() -> None:
    doc = workflow([start(), tool("t"), end()], ["start -> t", "t[true] -> end"])
    problem = one_problem(doc)
    assert problem.location == "edges[1] (t [true] -> end)"
    assert_words(problem.message, "tool node 't'", "no handle 'true'", "error, out")


def test_edge_with_route_name_not_in_router() -> None:
    doc = workflow([start(), router("r", ["a", "b"]), end()], ["start -> r", "r[c] -> end"])
    problem = one_problem(doc)
    assert problem.location == "edges[1] (r [c] -> end)"
    assert_words(problem.message, "router node 'r'", "no handle 'c'", "a, b, default, error")


def test_edge_with_out_handle_from_condition() -> None:
    doc = workflow([start(), condition("c"), end()], ["start -> c", "c -> end"])
    problem = one_problem(doc)
    assert problem.location == "edges[1] (c -> end)"
    assert_words(problem.message, "no handle 'out'", "false, true")


def test_edge_out_of_a_fail_node_other_than_error() -> None:
    doc = workflow([start(), node("f", "fail", code="X"), end()], ["start -> f", "f -> end"])
    problem = one_problem(doc)
    assert problem.location == "edges[1] (f -> end)"
    assert_words(problem.message, "fail node 'f'", "no handle 'out'")


def test_edge_crossing_a_container_boundary() -> None:
    doc = workflow(
        [start(), loop_for("L"), start("ls", parent="L"), transform("x", parent="L"), end()],
        ["start -> L", "L -> end", "ls -> x", "start -> x"],
    )
    problem = one_problem(doc)
    assert problem.location == "edges[3] (start -> x)"
    assert_words(problem.message, "container boundary", "top level", "body of loop 'L'")


def test_edge_into_start() -> None:
    problem = one_problem(workflow([start(), transform("a")], ["start -> a", "a -> start"]))
    assert problem.location == "edges[1] (a -> start)"
    assert_words(problem.message, "start", "no incoming edges")


def test_edge_out_of_end() -> None:
    doc = workflow([start(), end(), transform("a")], ["start -> end", "end -> a"])
    problem = one_problem(doc)
    assert problem.location == "edges[1] (end -> a)"
    assert_words(problem.message, "end", "no outgoing edges")


def test_duplicate_edge() -> None:
    problem = one_problem(workflow([start(), end()], ["start -> end", "start -> end"]))
    assert problem.location == "edges[1] (start -> end)"
    assert_words(problem.message, "duplicates edges[0]")


def test_same_nodes_through_different_handles_is_not_a_duplicate() -> None:
    doc = workflow(
        [start(), condition("c"), end()], ["start -> c", "c[true] -> end", "c[false] -> end"]
    )
    valid(doc)


def test_cycle_outside_a_loop_names_the_cycle() -> None:
    doc = workflow(
        [start(), transform("a"), transform("b"), transform("c"), transform("d")],
        ["start -> a", "a -> b", "b -> c", "c -> a", "c -> d"],
    )
    problem = one_problem(doc)
    assert_words(problem.message, "cycle")
    cycle = re.search(r"cycle[^:]*: ([\w >-]+)", problem.message)
    assert cycle is not None, problem.message
    members = [part.strip() for part in cycle.group(1).split("->")]
    assert set(members) == {"a", "b", "c"}
    assert members[0] == members[-1]
    assert "d" not in members and "start" not in members


def test_self_loop_is_a_cycle() -> None:
    problem = one_problem(workflow([start(), transform("a")], ["start -> a", "a -> a"]))
    assert_words(problem.message, "cycle", "a -> a")


def test_cycle_inside_a_body_names_the_body() -> None:
    """A cycle inside a loop's body must say which level it is in: 'cycle outside a loop'
    at location `edges` is misleading there (it *is* inside a loop)."""
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", parent="L"),
            transform("y", parent="L"),
        ],
        ["start -> L", "ls -> x", "x -> y", "y -> x"],
    )
    problem = one_problem(doc)
    assert_words(problem.message, "cycle", "x", "y")
    assert "'L'" in str(problem) or "nodes[1]" in problem.location, str(problem)


def test_container_nesting_cycle_is_one_problem() -> None:
    """Two containers that are each other's parent are one mistake: one message."""
    doc = workflow(
        [
            start(),
            node("L1", "loop", parent="L2", mode="for", count=1),
            node("L2", "loop", parent="L1", mode="for", count=1),
        ]
    )
    problem = one_problem(doc)
    assert_words(problem.message, "nest", "cycle", "L1", "L2")


def test_container_nesting_cycle_names_both_containers() -> None:
    doc = workflow(
        [
            start(),
            node("L1", "loop", parent="L2", mode="for", count=1),
            node("L2", "loop", parent="L1", mode="for", count=1),
        ]
    )
    found = problems(doc)
    assert all("cycle" in p.message for p in found)
    assert any("L1 -> L2" in p.message or "L2 -> L1" in p.message for p in found)


def test_parent_that_is_not_a_container() -> None:
    doc = workflow([start(), transform("a"), transform("b", parent="a")], ["start -> a"])
    problem = one_problem(doc)
    assert problem.location == "nodes[2] (id 'b').parent"
    assert_words(problem.message, "'a' is a transform node", "loop and parallel")


def test_parent_that_does_not_exist() -> None:
    problem = one_problem(workflow([start(), transform("b", parent="zz")]))
    assert problem.location == "nodes[1] (id 'b').parent"
    assert_words(problem.message, "unknown node 'zz'")


def test_body_without_start() -> None:
    doc = workflow([start(), loop_for("L"), transform("x", parent="L")], ["start -> L"])
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'L')"
    assert_words(problem.message, "body of loop 'L'", "no start")


def test_container_with_empty_body() -> None:
    problem = one_problem(workflow([start(), parallel_count("P")], ["start -> P"]))
    assert problem.location == "nodes[1] (id 'P')"
    assert_words(problem.message, "empty body", "parent 'P'")


def test_body_with_two_exit_nodes() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", parent="L"),
            transform("y", parent="L"),
        ],
        ["start -> L", "ls -> x", "ls -> y"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'L')"
    assert_words(problem.message, "exactly one exit node", "x, y")


def test_fail_nodes_are_not_exits() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", parent="L"),
            node("f", "fail", code="X", parent="L"),
        ],
        ["start -> L", "ls -> x", "ls -> f"],
    )
    assert valid(doc).topology.levels["L"].exit == "x"


# --------------------------------------------------------------------------- references


def test_reference_to_a_sibling_branch() -> None:
    doc = workflow(
        [start(), condition("c"), transform("a"), transform("b", "{{ nodes.a.output }}")],
        ["start -> c", "c[true] -> a", "c[false] -> b"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[3] (id 'b').params.value"
    assert_words(problem.message, "nodes.a", "not an ancestor of 'b'")


def test_reference_to_a_node_downstream() -> None:
    doc = linear(start(), transform("a", "{{ nodes['b'].output }}"), transform("b"))
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "nodes.b", "not an ancestor of 'a'")


def test_reference_to_itself() -> None:
    problem = one_problem(linear(start(), transform("a", "{{ nodes.a.output }}")))
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "not an ancestor")


def test_reference_into_a_body_from_outside() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", parent="L"),
            transform("after", "{{ nodes.x.output }}"),
        ],
        ["start -> L", "L -> after", "ls -> x"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[4] (id 'after').params.value"
    assert_words(problem.message, "nodes.x", "not an ancestor of 'after'")


def test_reference_to_the_container_from_its_body() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", "{{ nodes.L.output }}", parent="L"),
        ],
        ["start -> L", "ls -> x"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[3] (id 'x').params.value"
    assert_words(problem.message, "nodes.L", "not an ancestor of 'x'")


def test_references_to_outer_ancestors_and_body_ancestors_are_allowed() -> None:
    doc = workflow(
        [
            start(),
            transform("pre"),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", "{{ nodes.pre.output }} {{ nodes['ls'].output }}", parent="L"),
            transform("post", "{{ nodes.L.output }}"),
        ],
        ["start -> pre", "pre -> L", "ls -> x", "L -> post"],
    )
    valid(doc)


def test_compensate_args_may_name_the_node_itself() -> None:
    compensate = {"tool": "echo", "args": {"x": "{{ nodes.t.output }}"}}
    valid(linear(start(), node("t", "tool", tool="echo", options={"compensate": compensate})))


def test_params_may_not_name_the_node_itself_even_with_compensation() -> None:
    compensate = {"tool": "echo", "args": {"x": "{{ nodes.t.output }}"}}
    doc = linear(
        start(),
        node(
            "t",
            "tool",
            tool="echo",
            args={"y": "{{ nodes.t.output }}"},
            options={"compensate": compensate},
        ),
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 't').params.args"


def test_reference_to_an_unknown_node() -> None:
    problem = one_problem(linear(start(), transform("a", "{{ nodes.ghost.output }}")))
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "unknown node 'ghost'")


@pytest.mark.parametrize(
    "template", ["{{ nodes[inputs.k].output }}", "{{ nodes | length }}", "{{ nodes }}"]
)
def test_dynamic_nodes_access(template: str) -> None:
    problem = one_problem(linear(start(), transform("a", template)))
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "without a literal id", "nodes.<id>")


def test_workflow_outputs_may_name_any_reachable_top_level_node() -> None:
    doc = workflow(
        [start(), condition("c"), transform("a"), transform("b")],
        ["start -> c", "c[true] -> a", "c[false] -> b"],
        outputs={"a": "{{ nodes.a.output }}", "b": "{{ nodes.b.output }}"},
    )
    valid(doc)


def test_workflow_outputs_may_not_name_body_nodes() -> None:
    doc = workflow(
        [start(), loop_for("L"), start("ls", parent="L"), transform("x", parent="L")],
        ["start -> L", "ls -> x"],
        outputs={"o": "{{ nodes.x.output }}"},
    )
    problem = one_problem(doc)
    assert problem.location == "outputs.o"
    assert_words(problem.message, "'x'", "not a reachable top-level node")


def test_workflow_outputs_unknown_node_and_loop() -> None:
    doc = linear(start(), outputs={"a": "{{ nodes.ghost.output }}", "b": "{{ loop.index }}"})
    found = problems(doc)
    assert [p.location for p in found] == ["outputs.a", "outputs.b"]
    assert_words(found[0].message, "unknown node 'ghost'")
    assert_words(found[1].message, "'loop'")


# --------------------------------------------------------------------------- scopes


def test_loop_used_outside_a_loop() -> None:
    problem = one_problem(linear(start(), transform("a", "{{ loop.index }}")))
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "'loop'", "only defined inside a loop body")


def test_parallel_used_outside_a_parallel() -> None:
    problem = one_problem(linear(start(), transform("a", "{{ parallel.index }}")))
    assert problem.location == "nodes[1] (id 'a').params.value"
    assert_words(problem.message, "'parallel'", "only defined inside a parallel body")


def test_parallel_used_inside_a_loop_only() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", "{{ parallel.index }}", parent="L"),
        ],
        ["start -> L", "ls -> x"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[3] (id 'x').params.value"
    assert_words(problem.message, "'parallel'")


def test_loop_in_own_count_is_refused_but_in_own_condition_is_allowed() -> None:
    problem = one_problem(_loop_doc(mode="for", count="{{ loop.index }}"))
    assert problem.location == "nodes[1] (id 'L').params.count"
    assert_words(problem.message, "'loop'")
    valid(_loop_doc(mode="while", condition="loop.index < 3"))


def test_loop_and_parallel_inside_nested_bodies() -> None:
    doc = workflow(
        [
            start(),
            parallel_count("P"),
            start("ps", parent="P"),
            loop_for("L", parent="P"),
            start("ls", parent="L"),
            transform("x", "{{ loop.index }}-{{ parallel.index }}", parent="L"),
        ],
        ["start -> P", "ps -> L", "ls -> x"],
    )
    valid(doc)


def test_jinja_for_loop_variable_is_not_the_workflow_loop() -> None:
    valid(linear(start(), transform("a", "{% for i in [1, 2] %}{{ loop.index }}{% endfor %}")))


@pytest.mark.parametrize(
    ("root", "template"), [("vars", "{{ vars.b }}"), ("nodes", "{{ nodes.start.output }}")]
)
def test_variables_may_use_only_inputs_and_env(root: str, template: str) -> None:
    doc = linear(start(), variables={"a": template, "ok": "{{ inputs.x }} {{ env.HOME }}"})
    problem = one_problem(doc)
    assert problem.location == "variables.a"
    assert_words(problem.message, f"'{root}'", "inputs and env")


# --------------------------------------------------------------------------- races


def _race(found: tuple[Problem, ...] | Problem, first: str, second: str, var: str) -> None:
    problem = found if isinstance(found, Problem) else found[0]
    assert_words(problem.message, f"'{first}'", f"'{second}'", f"variable '{var}'", "concurrently")


def test_two_concurrent_set_nodes_race() -> None:
    doc = workflow([start(), set_("a", x=1), set_("b", x=2)], ["start -> a", "start -> b"])
    problem = one_problem(doc)
    assert problem.location == "nodes[1] (id 'a')"
    _race(problem, "a", "b", "x")


def test_set_and_concurrent_reader_race() -> None:
    doc = workflow(
        [start(), set_("a", x=1), transform("b", "{{ vars.x }}")], ["start -> a", "start -> b"]
    )
    _race(one_problem(doc), "a", "b", "x")


def test_set_and_concurrent_bracket_reader_race() -> None:
    doc = workflow(
        [start(), set_("a", x=1), set_("b", y="{{ vars['x'] }}")], ["start -> a", "start -> b"]
    )
    _race(one_problem(doc), "a", "b", "x")


@pytest.mark.parametrize("template", ["{{ vars | length }}", "{{ vars }}", "{{ vars[inputs.k] }}"])
def test_set_and_concurrent_whole_vars_reader_race(template: str) -> None:
    doc = workflow(
        [start(), set_("a", x=1), transform("b", template)], ["start -> a", "start -> b"]
    )
    _race(one_problem(doc), "a", "b", "x")


def test_concurrent_reader_through_idempotency_key_and_tool_args() -> None:
    doc = workflow(
        [
            start(),
            set_("a", x=1),
            node("t", "tool", tool="echo", options={"idempotency_key": "{{ vars.x }}"}),
        ],
        ["start -> a", "start -> t"],
    )
    _race(one_problem(doc), "a", "t", "x")


def test_concurrent_nodes_on_different_variables_do_not_race() -> None:
    valid(
        workflow(
            [start(), set_("a", x=1), transform("b", "{{ vars.y }}")], ["start -> a", "start -> b"]
        )
    )


def test_three_concurrent_writers_give_one_problem_per_pair() -> None:
    doc = workflow(
        [start(), set_("a", x=1), set_("b", x=2), set_("c", x=3)],
        ["start -> a", "start -> b", "start -> c"],
    )
    found = problems(doc)
    pairs = {tuple(re.findall(r"nodes '(\w+)' and '(\w+)'", p.message)[0]) for p in found}
    assert pairs == {("a", "b"), ("a", "c"), ("b", "c")}
    assert len(found) == 3


def test_ancestor_ordered_set_nodes_do_not_race() -> None:
    valid(
        linear(
            start(), set_("a", x=1), set_("b", x="{{ vars.x + 1 }}"), transform("c", "{{ vars.x }}")
        )
    )


def test_condition_branches_are_exclusive() -> None:
    doc = workflow(
        [start(), condition("c"), set_("a", x=1), set_("b", x=2), transform("j", "{{ vars.x }}")],
        ["start -> c", "c[true] -> a", "c[false] -> b", "a -> j", "b -> j"],
    )
    valid(doc)


def test_condition_branch_exclusive_deeper_down() -> None:
    doc = workflow(
        [start(), condition("c"), transform("m"), set_("a", x=1), set_("b", x=2)],
        ["start -> c", "c[true] -> m", "m -> a", "c[false] -> b"],
    )
    valid(doc)


def test_router_without_all_matching_routes_and_default_are_exclusive() -> None:
    doc = workflow(
        [start(), router("r", ["p", "q"]), set_("a", x=1), set_("b", x=2), set_("d", x=3)],
        ["start -> r", "r[p] -> a", "r[q] -> b", "r[default] -> d"],
    )
    valid(doc)


def test_normal_and_error_ports_are_exclusive() -> None:
    doc = workflow(
        [start(), tool("t"), set_("a", x=1), set_("b", x=2)],
        ["start -> t", "t -> a", "t[error] -> b"],
    )
    valid(doc)


def test_condition_true_and_error_ports_are_exclusive() -> None:
    doc = workflow(
        [start(), condition("c"), set_("a", x=1), set_("b", x=2)],
        ["start -> c", "c[true] -> a", "c[error] -> b"],
    )
    valid(doc)


def test_router_with_all_matching_routes_race() -> None:
    doc = workflow(
        [start(), router("r", ["p", "q"], all_matching=True), set_("a", x=1), set_("b", x=2)],
        ["start -> r", "r[p] -> a", "r[q] -> b"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[2] (id 'a')"
    _race(problem, "a", "b", "x")


def test_router_with_all_matching_routes_vs_default_are_exclusive() -> None:
    doc = workflow(
        [start(), router("r", ["p", "q"], all_matching=True), set_("a", x=1), set_("b", x=2)],
        ["start -> r", "r[p] -> a", "r[default] -> b"],
    )
    valid(doc)


def test_exclusive_branch_also_reachable_directly_races() -> None:
    doc = workflow(
        [start(), condition("c"), set_("a", x=1), set_("b", x=2)],
        ["start -> c", "c[true] -> a", "c[false] -> b", "start -> b"],
    )
    _race(one_problem(doc), "a", "b", "x")


def test_node_reachable_from_both_branches_is_not_exclusive() -> None:
    doc = workflow(
        [start(), condition("c"), set_("a", x=1), set_("b", x=2)],
        ["start -> c", "c[true] -> a", "c[false] -> a", "c[false] -> b"],
    )
    _race(one_problem(doc), "a", "b", "x")


def test_container_touches_what_its_body_touches() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            set_("w", parent="L", x=1),
            transform("b", "{{ vars.x }}"),
        ],
        ["start -> L", "start -> b", "ls -> w"],
    )
    problem = one_problem(doc)
    _race(problem, "L", "b", "x")


def test_race_inside_a_loop_body() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            set_("a", parent="L", x=1),
            set_("b", parent="L", x=2),
            transform("j", parent="L"),
        ],
        ["start -> L", "ls -> a", "ls -> b", "a -> j", "b -> j"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[3] (id 'a')"
    _race(problem, "a", "b", "x")


def test_loop_body_may_write_variables() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            set_("w", parent="L", x="{{ vars.x + 1 }}"),
            transform("after", "{{ vars.x }}"),
        ],
        ["start -> L", "ls -> w", "L -> after"],
        variables={"x": 0},
    )
    valid(doc)


def test_parallel_body_with_a_set_node() -> None:
    doc = workflow(
        [start(), parallel_count("P"), start("ps", parent="P"), set_("w", parent="P", x=1)],
        ["start -> P", "ps -> w"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[3] (id 'w')"
    assert_words(problem.message, "writes variables (x)", "parallel 'P'")


def test_parallel_body_with_a_set_node_at_depth() -> None:
    doc = workflow(
        [
            start(),
            parallel_count("P"),
            start("ps", parent="P"),
            loop_for("L", parent="P"),
            start("ls", parent="L"),
            set_("w", parent="L", x=1),
        ],
        ["start -> P", "ps -> L", "ls -> w"],
    )
    problem = one_problem(doc)
    assert problem.location == "nodes[5] (id 'w')"
    assert_words(problem.message, "writes variables", "parallel 'P'")


def test_parallel_body_may_read_variables() -> None:
    doc = workflow(
        [
            start(),
            parallel_count("P"),
            start("ps", parent="P"),
            transform("r", "{{ vars.x }}", parent="P"),
        ],
        ["start -> P", "ps -> r"],
        variables={"x": 1},
    )
    valid(doc)


# --------------------------------------------------------------------------- warnings


def test_unreachable_nodes_are_dropped_with_a_warning() -> None:
    doc = workflow(
        [start(), transform("a"), transform("orphan"), end()], ["start -> a", "a -> end"]
    )
    validated = valid(doc)
    assert "orphan" not in validated.topology.level_of
    assert validated.topology.levels[None].nodes == ("start", "a", "end")
    assert len(validated.warnings) == 1
    warning = validated.warnings[0]
    assert warning.location == "nodes[2] (id 'orphan')"
    assert_words(warning.message, "cannot be reached", "dropped")


def test_unreachable_container_drops_its_body_with_warnings() -> None:
    doc = workflow(
        [start(), loop_for("L"), start("ls", parent="L"), transform("x", parent="L")],
        ["ls -> x"],
    )
    validated = valid(doc)
    assert set(validated.topology.levels) == {None}
    located = {w.location for w in validated.warnings}
    assert located == {"nodes[1] (id 'L')", "nodes[2] (id 'ls')", "nodes[3] (id 'x')"}
    assert all("dropped" in w.message for w in validated.warnings)


def test_unreachable_nodes_do_not_cause_races_or_cycles() -> None:
    doc = workflow(
        [start(), set_("a", x=1), set_("b", x=2), transform("c"), transform("d")],
        ["start -> a", "b -> a", "c -> d", "d -> c"],
    )
    validated = valid(doc)
    assert {w.location for w in validated.warnings} == {
        "nodes[2] (id 'b')",
        "nodes[3] (id 'c')",
        "nodes[4] (id 'd')",
    }


def test_unreachable_nodes_inside_a_body_are_dropped() -> None:
    doc = workflow(
        [
            start(),
            loop_for("L"),
            start("ls", parent="L"),
            transform("x", parent="L"),
            transform("lost", parent="L"),
        ],
        ["start -> L", "ls -> x"],
    )
    validated = valid(doc)
    assert validated.topology.levels["L"].nodes == ("ls", "x")
    assert validated.topology.levels["L"].unreachable == ("lost",)
    assert_words(validated.warnings[0].message, "body of loop 'L'")


# --------------------------------------------------------------------------- several problems


def test_several_shape_problems_are_reported_together() -> None:
    doc = workflow(
        [
            start(),
            node("a", "transfrom", value=1),
            set_("b", x="{{ }}"),
            node("w", "wait", seconds=-2),
        ]
    )
    found = problems(doc)
    assert [p.location for p in found] == [
        "nodes[1] (id 'a')",
        "nodes[2] (id 'b').params.values.x",
        "nodes[3] (id 'w').params.seconds",
    ]


def test_several_edge_problems_are_reported_together() -> None:
    doc = workflow(
        [start(), transform("a"), end()],
        ["start -> ghost", "a -> start", "end -> a", "start -> a", "start -> a"],
    )
    found = problems(doc)
    assert [p.location.split(" ")[0] for p in found] == [
        "edges[0]",
        "edges[1]",
        "edges[2]",
        "edges[4]",
    ]


def test_several_reference_problems_are_reported_together() -> None:
    doc = linear(
        start(),
        transform("a", "{{ loop.index }}"),
        transform("b", "{{ nodes.zz.output }}"),
        variables={"v": "{{ vars.q }}"},
    )
    found = problems(doc)
    assert [p.location for p in found] == [
        "nodes[1] (id 'a').params.value",
        "nodes[2] (id 'b').params.value",
        "variables.v",
    ]


def test_workflow_invalid_renders_every_problem_with_its_source() -> None:
    doc = workflow([start()], ["start -> g1", "start -> g2"])
    with pytest.raises(WorkflowInvalid) as info:
        validate_workflow(doc, source="flows/x.yaml")
    error = info.value
    assert len(error.problems) == 2
    assert error.lines() == [f"flows/x.yaml: {p}" for p in error.problems]
    assert str(error).startswith("flows/x.yaml: 2 problems in workflow")
    assert "edges[0]" in str(error) and "edges[1]" in str(error)


def test_single_problem_renders_on_one_line() -> None:
    with pytest.raises(WorkflowInvalid) as info:
        validate_workflow(workflow([start()], ["start -> g1"]), source="x.json")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("x.json: edges[0]")


# --------------------------------------------------------------------------- registries


def _registry(*docs: dict[str, Any], tools: bool = False) -> WorkflowRegistry:
    return WorkflowRegistry([valid(d) for d in docs], tools=builtin_registry() if tools else None)


def _registry_problems(*docs: dict[str, Any], tools: bool = False) -> tuple[Problem, ...]:
    with pytest.raises(WorkflowInvalid) as info:
        _registry(*docs, tools=tools)
    assert info.value.problems
    return info.value.problems


MAIN = linear(start(), node("sub", "subworkflow", workflow="child"), workflow_id="main")


def test_subworkflow_naming_an_unknown_workflow() -> None:
    (problem,) = _registry_problems(MAIN)
    assert problem.location == "workflow 'main' nodes[1] (id 'sub').params.workflow"
    assert_words(problem.message, "unknown workflow 'child'", "main")


def test_subworkflow_in_registry_is_found() -> None:
    registry = _registry(MAIN, linear(start(), workflow_id="child"))
    assert registry.main.id == "main"
    assert set(registry) == {"main", "child"}
    assert len(registry) == 2


def test_workflow_may_call_itself() -> None:
    doc = linear(start(), node("sub", "subworkflow", workflow="main"), workflow_id="main")
    assert list(_registry(doc)) == ["main"]


def test_subworkflow_containing_an_input_node() -> None:
    child = linear(start(), node("ask", "input", prompt="hi"), workflow_id="child")
    (problem,) = _registry_problems(MAIN, child)
    assert problem.location == "workflow 'child' nodes[1] (id 'ask')"
    assert_words(problem.message, "input node", "sub-workflow")


def test_main_workflow_may_have_input_nodes() -> None:
    _registry(linear(start(), node("ask", "input", prompt="hi"), workflow_id="main"))


def test_unknown_tool_with_a_tool_registry() -> None:
    doc = linear(
        start(),
        tool("t", "nope"),
        node("t2", "tool", tool="echo", options={"compensate": {"tool": "undo"}}),
    )
    found = _registry_problems(doc, tools=True)
    assert [p.location for p in found] == [
        "workflow 'wf' nodes[1] (id 't').params.tool",
        "workflow 'wf' nodes[2] (id 't2').compensate.tool",
    ]
    assert_words(found[0].message, "unknown tool 'nope'", "echo")
    assert_words(found[1].message, "unknown tool 'undo'")


def test_unknown_tool_without_a_tool_registry_is_not_checked() -> None:
    _registry(linear(start(), tool("t", "nope")))


def test_two_workflows_with_one_id() -> None:
    (problem,) = _registry_problems(
        linear(start(), workflow_id="a"), linear(start(), workflow_id="a")
    )
    assert problem.location == "workflow 'a'"
    assert_words(problem.message, "two workflows")


def test_empty_registry() -> None:
    with pytest.raises(WorkflowInvalid):
        WorkflowRegistry([])


# --------------------------------------------------------------------------- fixtures

FLOW = linear(start(), tool("t"), end())


def _fixture_problems(doc: Any, base: Path = Path("/nonexistent")) -> tuple[Problem, ...]:
    with pytest.raises(FixtureInvalid) as info:
        fixture_from_data(doc, source="f.yaml", base=base)
    assert info.value.problems
    assert str(info.value).startswith("f.yaml: ")
    return info.value.problems


def test_fixture_expect_errors_names_an_unknown_node() -> None:
    doc = {
        "workflow": FLOW,
        "cases": [{"name": "a", "expect": {"errors": [{"node": "ghost", "code": "X"}]}}],
    }
    (problem,) = _fixture_problems(doc)
    assert problem.location == "cases[0] (a).expect.errors[0].node"
    assert_words(problem.message, "'ghost'", "top-level node", "'wf'")


def test_fixture_expect_errors_may_name_pseudo_nodes_and_top_level_nodes() -> None:
    errors = [
        {"node": "$variables", "code": "EXPRESSION_ERROR"},
        {"node": "$outputs", "code": "EXPRESSION_ERROR"},
        {"node": "t", "code": "X"},
    ]
    fixture = fixture_from_data(
        {"workflow": FLOW, "cases": [{"name": "a", "expect": {"errors": errors}}]},
        source="f",
        base=Path("."),
    )
    assert fixture.case("a").expect is not None


def test_fixture_expect_errors_may_name_body_nodes_but_not_unknown_ones() -> None:
    """A body node's compensation can fail (COMPENSATION_FAILED names it), so body nodes are
    accepted; a node the workflow does not have is not."""
    flow = workflow(
        [start(), loop_for("L"), start("ls", parent="L"), tool("x", parent="L")],
        ["start -> L", "ls -> x"],
    )
    errors = [{"node": "x", "code": "COMPENSATION_FAILED"}, {"node": "nope", "code": "X"}]
    doc = {"workflow": flow, "cases": [{"name": "a", "expect": {"errors": errors}}]}
    (problem,) = _fixture_problems(doc)
    assert problem.location == "cases[0] (a).expect.errors[1].node"
    assert_words(problem.message, "'nope'")


def test_fixture_duplicate_case_names() -> None:
    (problem,) = _fixture_problems({"workflow": FLOW, "cases": [{"name": "a"}, {"name": "a"}]})
    assert problem.location.startswith("cases")
    assert_words(problem.message, "'a'", "twice")


def test_fixture_needs_a_case() -> None:
    (problem,) = _fixture_problems({"workflow": FLOW, "cases": []})
    assert problem.location == "cases"
    assert_words(problem.message, "at least one case")


def test_fixture_workflow_path_that_does_not_exist(tmp_path: Path) -> None:
    (problem,) = _fixture_problems(
        {"workflow": "nope/flow.json", "cases": [{"name": "a"}]}, base=tmp_path
    )
    assert problem.location == "workflow"
    assert_words(problem.message, "nope/flow.json", "no such file")


def test_fixture_file_with_missing_workflow_path(tmp_path: Path) -> None:
    path = write(tmp_path / "f.yaml", {"workflow": "missing.yaml", "cases": [{"name": "a"}]})
    with pytest.raises(FixtureInvalid) as info:
        load_fixture(path)
    assert_words(str(info.value), str(path), "workflow", "missing.yaml", "no such file")


def test_fixture_workflow_path_with_invalid_workflow(tmp_path: Path) -> None:
    write(tmp_path / "flows" / "bad.json", linear(start(), transform("a", "{{ loop.index }}")))
    path = write(tmp_path / "f.yaml", {"workflow": "flows/bad.json", "cases": [{"name": "a"}]})
    with pytest.raises(FixtureInvalid) as info:
        load_fixture(path)
    (problem,) = info.value.problems
    assert problem.location == "workflow (flows/bad.json) nodes[1] (id 'a').params.value"
    assert_words(problem.message, "'loop'")


def test_fixture_inline_workflow_problem_is_located_under_workflow() -> None:
    doc = {
        "workflow": linear(start(), transform("a", "{{ loop.index }}")),
        "cases": [{"name": "a"}],
    }
    (problem,) = _fixture_problems(doc)
    assert problem.location == "workflow.nodes[1] (id 'a').params.value"


def test_fixture_extra_workflow_problem_is_located_under_workflows() -> None:
    doc = {
        "workflow": MAIN,
        "workflows": [linear(start(), workflow_id="child", outputs={"x": "{{ loop }}"})],
        "cases": [{"name": "a"}],
    }
    (problem,) = _fixture_problems(doc)
    assert problem.location == "workflows[0].outputs.x"


def test_fixture_subworkflow_naming_an_unknown_workflow() -> None:
    (problem,) = _fixture_problems({"workflow": MAIN, "cases": [{"name": "a"}]})
    assert_words(problem.location, "workflow 'main'", "params.workflow")
    assert_words(problem.message, "unknown workflow 'child'")


def test_fixture_unknown_tool_with_a_tool_registry() -> None:
    doc = {"workflow": linear(start(), tool("t", "nope")), "cases": [{"name": "a"}]}
    with pytest.raises(FixtureInvalid) as info:
        fixture_from_data(doc, source="f.yaml", base=Path("."), tools=builtin_registry())
    (problem,) = info.value.problems
    assert_words(problem.message, "unknown tool 'nope'")


@pytest.mark.parametrize(
    ("case", "location"),
    [
        ({"name": "a", "inptus": {}}, "cases[0].inptus"),
        ({"name": "a", "expect": {"status": "done"}}, "cases[0].expect.status"),
        ({"name": "a", "expect": {"errors": [{"node": "t"}]}}, "cases[0].expect.errors[0].code"),
        ({"inputs": {}}, "cases[0].name"),
    ],
)
def test_fixture_case_shape(case: dict[str, Any], location: str) -> None:
    (problem,) = _fixture_problems({"workflow": FLOW, "cases": [case]})
    assert problem.location == location


def test_fixture_that_is_not_a_mapping() -> None:
    with pytest.raises(FixtureInvalid) as info:
        fixture_from_data([1], source="f.yaml", base=Path("."))
    assert_words(str(info.value), "mapping", "list")
