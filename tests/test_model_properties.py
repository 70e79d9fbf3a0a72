"""Property tests: whatever document comes in, the model answers with a validated workflow or
with located problems, never with any other exception."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines.documents import fixture_from_data, workflow_from_data
from engines.documents.read import parse_json, parse_yaml
from engines.errors import DocumentError, InvalidDocument, WorkflowInvalid
from engines.model import NODE_TYPES, ValidatedWorkflow, WorkflowRegistry, validate_workflow
from engines.tools import builtin_registry

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

IDS = ["start", "s2", "a", "b", "c", "L", "P", "x", "y", "$v", "a b", ""]
VARS = ["x", "y", "total"]
HANDLES = ["out", "error", "true", "false", "default", "r1", "r2", "", "weird"]

# --------------------------------------------------------------------------- strategies

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)

templates = st.one_of(
    st.sampled_from(
        [
            "{{ inputs.x }}",
            "{{ vars.x }}",
            "{{ vars['y'] }}",
            "{{ vars | length }}",
            "{{ nodes.a.output }}",
            "{{ nodes['b'].output }}",
            "{{ nodes[inputs.k] }}",
            "{{ nodes.zz.output }}",
            "{{ loop.index }}",
            "{{ parallel.item }}",
            "{{ env.HOME }}",
            "text {{ inputs.x }} more",
            "{{ ( }}",
            "{% if %}",
            "{{ }}",
            "plain",
            "",
            "{% for i in inputs.items %}{{ loop.index }}{% endfor %}",
            "{{ nodes.L.output }}",
        ]
    ),
    json_scalars,
)
expressions = st.one_of(
    st.sampled_from(
        [
            "inputs.x > 1",
            "vars.x",
            "loop.index < 3",
            "nodes.a.output",
            "true",
            "inputs.x >",
            "{{ inputs.y }}",
            "(",
            "",
        ]
    ),
    json_scalars,
)
counts = st.one_of(
    st.integers(-2, 4),
    st.floats(-1, 3, allow_nan=False),
    st.booleans(),
    st.just("{{ inputs.n }}"),
    st.just("three"),
    st.none(),
)


def _params_for(kind: str) -> st.SearchStrategy[Any]:
    var_maps = st.dictionaries(st.sampled_from([*VARS, "1bad"]), templates, max_size=3)
    template_maps = st.dictionaries(st.sampled_from(["a", "b", "k"]), templates, max_size=3)
    options: dict[str, st.SearchStrategy[Any]] = {
        "end": st.fixed_dictionaries({}, optional={"outputs": template_maps}),
        "set": st.fixed_dictionaries({"values": var_maps}),
        "transform": st.fixed_dictionaries({"value": templates}),
        "condition": st.fixed_dictionaries({"expression": expressions}),
        "router": st.fixed_dictionaries(
            {
                "routes": st.lists(
                    st.fixed_dictionaries(
                        {
                            "name": st.sampled_from(["r1", "r2", "default", "out", ""]),
                            "when": expressions,
                        }
                    ),
                    max_size=3,
                )
            },
            optional={"all_matching": st.booleans()},
        ),
        "tool": st.fixed_dictionaries(
            {"tool": st.sampled_from(["echo", "add", "nope", ""])},
            optional={"args": st.one_of(template_maps, st.lists(templates, max_size=2))},
        ),
        "input": st.fixed_dictionaries(
            {},
            optional={
                "prompt": templates,
                "schema": st.one_of(
                    st.just({"type": "string"}),
                    st.just(
                        {
                            "type": "object",
                            "properties": {"a": {"type": "integer"}},
                            "required": ["a", "b"],
                        }
                    ),
                    st.just({"type": "strnig"}),
                    st.just({"minLength": 1}),
                ),
            },
        ),
        "wait": st.fixed_dictionaries({"seconds": counts}),
        "loop": st.fixed_dictionaries(
            {"mode": st.sampled_from(["for", "forEach", "while", "doWhile", "repeat"])},
            optional={
                "count": counts,
                "items": st.one_of(st.lists(json_scalars, max_size=2), templates),
                "condition": expressions,
                "max_iterations": counts,
            },
        ),
        "parallel": st.fixed_dictionaries(
            {"mode": st.sampled_from(["count", "collection", "all"])},
            optional={
                "count": counts,
                "items": st.lists(json_scalars, max_size=2),
                "max_concurrency": counts,
            },
        ),
        "subworkflow": st.fixed_dictionaries(
            {"workflow": st.sampled_from(["wf", "child", "ghost"])},
            optional={"inputs": template_maps},
        ),
        "fail": st.fixed_dictionaries(
            {"code": st.sampled_from(["E", "BAD CODE", "", "{{ inputs.c }}"])},
            optional={"message": templates, "recoverable": st.booleans()},
        ),
    }
    return options.get(
        kind, st.one_of(st.just({}), st.dictionaries(st.text(max_size=4), json_values, max_size=2))
    )


@st.composite
def nodes(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.one_of(
            st.sampled_from(NODE_TYPES),
            st.sampled_from(["transfrom", "", "llm"]),
            st.integers(0, 3),
            st.none(),
        )
    )
    out: dict[str, Any] = {"id": draw(st.sampled_from(IDS)), "type": kind}
    if isinstance(kind, str) and draw(st.booleans()):
        out["params"] = draw(_params_for(kind))
    if draw(st.integers(0, 3)) == 0:
        out["parent"] = draw(st.sampled_from([*IDS, None]))
    for option, values in (
        (
            "retry",
            st.one_of(
                st.just({"max_attempts": 3}),
                st.just({"initial_interval": 5, "max_interval": 1}),
                st.just({"max_attempts": 0}),
            ),
        ),
        ("timeout", st.one_of(st.just(2), st.just(0), st.just("x"))),
        (
            "compensate",
            st.one_of(
                st.just({"tool": "echo", "args": {"v": "{{ nodes.a.output }}"}}),
                st.just({"tool": ""}),
            ),
        ),
        ("idempotency_key", templates),
        ("name", st.one_of(st.text(max_size=4), st.integers())),
        ("unknown", json_values),
    ):
        if draw(st.integers(0, 9)) == 0:
            out[option] = draw(values)
    if draw(st.integers(0, 15)) == 0:
        del out["id"]
    return out


@st.composite
def edges(draw: st.DrawFn) -> Any:
    out: dict[str, Any] = {
        "source": draw(st.sampled_from(IDS)),
        "target": draw(st.sampled_from(IDS)),
    }
    if draw(st.booleans()):
        out["handle"] = draw(st.sampled_from(HANDLES))
    if draw(st.integers(0, 10)) == 0:
        out["id"] = draw(st.one_of(st.text(max_size=3), st.integers()))
    if draw(st.integers(0, 20)) == 0:
        return draw(json_values)
    return out


@st.composite
def near_valid_workflows(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly plausible workflows: a start node, typed nodes with params, containers with
    bodies, and edges among known ids, with occasional mistakes mixed in."""
    body: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    body += draw(st.lists(nodes(), max_size=8))
    if draw(st.booleans()):
        body += [
            {"id": "L", "type": "loop", "params": {"mode": "for", "count": 2}},
            {"id": "ls", "type": "start", "parent": "L"},
            {"id": "lx", "type": "set", "parent": "L", "params": {"values": {"x": "{{ 1 }}"}}},
        ]
    doc: dict[str, Any] = {
        "id": draw(st.sampled_from(["wf", "child", ""])),
        "nodes": draw(st.permutations(body)),
        "edges": draw(st.lists(edges(), max_size=10)),
    }
    if draw(st.booleans()):
        doc["variables"] = draw(
            st.dictionaries(st.sampled_from([*VARS, "bad-name"]), templates, max_size=2)
        )
    if draw(st.booleans()):
        doc["outputs"] = draw(st.dictionaries(st.sampled_from(["o", "p"]), templates, max_size=2))
    if draw(st.integers(0, 10)) == 0:
        doc[draw(st.sampled_from(["version", "outptus", "name"]))] = draw(json_values)
    return doc


parseable = st.sampled_from(
    [
        "{{ inputs.x }}",
        "{{ vars.x }}",
        "{{ vars['y'] }}",
        "{{ vars | length }}",
        "{{ nodes.n0.output }}",
        "{{ nodes['n1'].output }}",
        "{{ nodes.n3.output }}",
        "{{ nodes.b0.output }}",
        "{{ nodes.C.output }}",
        "{{ nodes.start.output }}",
        "{{ loop.index }}",
        "{{ parallel.index }}",
        "{{ env.HOME }}",
        "plain",
        1,
        None,
        "{{ nodes.ghost.output }}",
        "{{ nodes[inputs.k] }}",
    ]
)
good_params: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "transform": st.fixed_dictionaries({"value": parseable}),
    "set": st.fixed_dictionaries(
        {"values": st.dictionaries(st.sampled_from(VARS), parseable, min_size=1, max_size=2)}
    ),
    "tool": st.fixed_dictionaries(
        {
            "tool": st.sampled_from(["echo", "add", "nope"]),
            "args": st.dictionaries(st.sampled_from(["a", "b"]), parseable, max_size=2),
        }
    ),
    "condition": st.fixed_dictionaries(
        {"expression": st.sampled_from(["inputs.x", "vars.x > 1", "nodes.n0.output", "loop.index"])}
    ),
    "router": st.fixed_dictionaries(
        {
            "routes": st.just(
                [{"name": "r1", "when": "inputs.a"}, {"name": "r2", "when": "vars.y"}]
            ),
            "all_matching": st.booleans(),
        }
    ),
    "wait": st.fixed_dictionaries({"seconds": st.sampled_from([0, 1.5, "{{ inputs.s }}"])}),
    "end": st.fixed_dictionaries({"outputs": st.dictionaries(st.just("o"), parseable, max_size=1)}),
}
_HANDLES_OF = {
    "start": ["out"],
    "transform": ["out", "error"],
    "set": ["out", "error"],
    "tool": ["out", "error"],
    "wait": ["out", "error"],
    "end": [],
    "condition": ["true", "false", "error"],
    "router": ["r1", "r2", "default", "error"],
    "loop": ["out", "error"],
    "parallel": ["out", "error"],
}


@st.composite
def chain_workflows(draw: st.DrawFn) -> dict[str, Any]:
    """Structurally plausible workflows (one start per level, handles the sources have)
    whose node types, params and extra edges vary, so that the later checks (references,
    scopes, races, exits) run on them."""
    kinds = draw(st.lists(st.sampled_from(sorted(good_params)), min_size=1, max_size=6))
    top: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    for index, kind in enumerate(kinds):
        top.append({"id": f"n{index}", "type": kind, "params": draw(good_params[kind])})
    body: list[dict[str, Any]] = []
    container = draw(st.sampled_from([None, "loop", "parallel"]))
    if container is not None:
        params = (
            {"mode": "for", "count": 2}
            if container == "loop"
            else {"mode": "collection", "items": [1, 2]}
        )
        top.insert(draw(st.integers(1, len(top))), {"id": "C", "type": container, "params": params})
        body.append({"id": "b_start", "type": "start", "parent": "C"})
        for index, kind in enumerate(
            draw(
                st.lists(
                    st.sampled_from(["transform", "set", "tool", "condition"]),
                    min_size=1,
                    max_size=3,
                )
            )
        ):
            body.append(
                {"id": f"b{index}", "type": kind, "parent": "C", "params": draw(good_params[kind])}
            )
    wires: list[dict[str, Any]] = []
    for level in (top, body):
        for a, b in itertools.pairwise(level):
            handles = _HANDLES_OF[a["type"]]
            if handles:
                wires.append(
                    {"source": a["id"], "target": b["id"], "handle": draw(st.sampled_from(handles))}
                )
        for _ in range(draw(st.integers(0, 3)) if len(level) > 2 else 0):
            # Mostly forward edges (acyclic, never into the start), now and then any edge.
            i, j = sorted(
                draw(st.lists(st.integers(1, len(level) - 1), min_size=2, max_size=2, unique=True))
            )
            if draw(st.integers(0, 9)) == 0:
                i, j = j, draw(st.integers(0, len(level) - 1))
            a, b = level[i - 1] if draw(st.booleans()) else level[i], level[j]
            handles = _HANDLES_OF[a["type"]] or ["out"]
            wires.append(
                {"source": a["id"], "target": b["id"], "handle": draw(st.sampled_from(handles))}
            )
    doc: dict[str, Any] = {"id": "wf", "nodes": top + body, "edges": wires}
    if draw(st.booleans()):
        doc["variables"] = {"x": 0, "y": "{{ inputs.y }}"}
    return doc


documents = st.one_of(
    json_values,
    st.dictionaries(
        st.sampled_from(["id", "nodes", "edges", "variables", "outputs", "x"]),
        json_values,
        max_size=5,
    ),
    near_valid_workflows(),
    chain_workflows(),
)


# --------------------------------------------------------------------------- checks


def _check_problems(error: InvalidDocument) -> None:
    assert error.problems, "an invalid document without problems"
    for problem in error.problems:
        assert isinstance(problem.location, str)
        assert isinstance(problem.message, str) and problem.message.strip()
    assert str(error)


def _check_validated(validated: ValidatedWorkflow) -> None:
    topology = validated.topology
    for level in topology.levels.values():
        assert level.nodes[0] == level.start
        for node in level.nodes:
            assert topology.level_of[node] == level.container
            for edge in level.outgoing[node]:
                assert topology.index[edge.source] < topology.index[edge.target]
                assert topology.is_ancestor(edge.source, edge.target)
        if level.container is not None:
            assert level.exit in level.nodes


@SETTINGS
@given(documents)
def test_validate_workflow_answers_or_explains(doc: Any) -> None:
    try:
        validated = validate_workflow(doc)
    except WorkflowInvalid as exc:
        _check_problems(exc)
    else:
        _check_validated(validated)


@SETTINGS
@given(chain_workflows())
def test_structurally_plausible_workflows_answer_or_explain(doc: dict[str, Any]) -> None:
    try:
        validated = validate_workflow(doc)
    except WorkflowInvalid as exc:
        _check_problems(exc)
        return
    _check_validated(validated)
    try:
        WorkflowRegistry([validated], tools=builtin_registry())
    except WorkflowInvalid as exc:
        _check_problems(exc)


@SETTINGS
@given(st.one_of(near_valid_workflows(), chain_workflows()))
def test_validated_workflows_round_trip_through_their_document(doc: dict[str, Any]) -> None:
    """Every validated workflow has a native document and a content hash, and validating
    that document gives the same workflow back."""
    try:
        validated = validate_workflow(doc)
    except WorkflowInvalid:
        return
    again = validate_workflow(validated.workflow.to_document())
    assert again.content_hash == validated.content_hash
    assert again.workflow == validated.workflow


def _as_reactflow(doc: Any, wrapper: str) -> Any:
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        return doc
    flow_nodes = []
    for node in doc["nodes"]:
        if not isinstance(node, dict):
            flow_nodes.append(node)
            continue
        data = dict(node.get("params", {})) if isinstance(node.get("params"), dict) else {}
        if "name" in node:
            data["label"] = node["name"]
        flow = {
            "id": node.get("id"),
            "type": node.get("type"),
            "data": data,
            "position": {"x": 0, "y": 0},
        }
        if "parent" in node:
            flow["parentId"] = node["parent"]
        flow_nodes.append(flow)
    raw_edges = doc.get("edges", [])
    flow_edges = [
        {"source": e.get("source"), "target": e.get("target"), "sourceHandle": e.get("handle")}
        if isinstance(e, dict)
        else e
        for e in (raw_edges if isinstance(raw_edges, list) else [])
    ]
    graph = {"nodes": flow_nodes, "edges": flow_edges, "viewport": {"x": 0, "y": 0, "zoom": 1}}
    return {wrapper: graph} if wrapper else graph


@SETTINGS
@given(documents, st.sampled_from(["", "data", "flow", "rfInstance"]))
def test_reactflow_import_answers_or_explains(doc: Any, wrapper: str) -> None:
    try:
        workflow_from_data(_as_reactflow(doc, wrapper), source="flow.json", default_id="flow")
    except WorkflowInvalid as exc:
        _check_problems(exc)


fixtures = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "workflow": st.one_of(near_valid_workflows(), st.just("missing.json"), json_values),
            "cases": st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["a", "b", ""])},
                    optional={
                        "inputs": json_values,
                        "expect": st.fixed_dictionaries(
                            {},
                            optional={
                                "status": st.sampled_from(["completed", "failed", "nope"]),
                                "errors": st.lists(
                                    st.fixed_dictionaries(
                                        {
                                            "node": st.sampled_from([*IDS, "$outputs"]),
                                            "code": st.sampled_from(["X", ""]),
                                        }
                                    ),
                                    max_size=2,
                                ),
                            },
                        ),
                    },
                ),
                max_size=3,
            ),
        },
        optional={
            "workflows": st.lists(near_valid_workflows(), max_size=2),
            "tolerances": json_values,
        },
    ),
)


@SETTINGS
@given(fixtures)
def test_fixture_answers_or_explains(doc: Any) -> None:
    try:
        fixture_from_data(
            doc, source="f.yaml", base=Path("/nonexistent-compat-dir"), tools=builtin_registry()
        )
    except InvalidDocument as exc:
        _check_problems(exc)


@SETTINGS
@given(
    st.one_of(
        st.text(max_size=60),
        st.sampled_from(
            [
                "{",
                "[1,",
                "a: [",
                "a: b: c",
                "{a: 1, a: 2}",
                "- - -\n  x",
                '{"a": 1, "a": 2}',
                "!!python/name:os.system",
                "\t- x",
            ]
        ),
    )
)
def test_parsers_answer_or_explain(text: str) -> None:
    for parse in (parse_json, parse_yaml):
        try:
            parse(text, "doc")
        except DocumentError as exc:
            assert exc.detail.strip()
            assert str(exc).startswith("doc: ")
