"""Documents: ReactFlow import, format detection, content hashes and real saved flows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REAL_FLOWS, assert_words, linear, start, transform, write

from engines.documents import (
    DocumentKind,
    document_kind,
    import_reactflow,
    is_reactflow,
    load_fixture,
    load_workflow,
    read_document,
    workflow_from_data,
)
from engines.errors import DocumentError, InvalidDocument, WorkflowInvalid
from engines.model import validate_workflow

# --------------------------------------------------------------------------- builders


def rf_node(
    node_id: str, rf_type: str | None, data: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"id": node_id, "position": {"x": 10, "y": 20}}
    if rf_type is not None:
        out["type"] = rf_type
    if data is not None:
        out["data"] = data
    out.update(extra)
    return out


def rf_edge(source: str, target: str, handle: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"source": source, "target": target, "sourceHandle": handle, **extra}


def rf_flow(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **extra: Any) -> dict:
    return {"nodes": nodes, "edges": edges, "viewport": {"x": 0, "y": 0, "zoom": 1}, **extra}


def imported(doc: Any, default_id: str = "flow") -> dict[str, Any]:
    return import_reactflow(doc, default_id=default_id).document


def rf_problems(doc: Any, source: str = "flow.json") -> tuple[Any, ...]:
    with pytest.raises(WorkflowInvalid) as info:
        workflow_from_data(doc, source=source, default_id="flow")
    assert info.value.problems
    assert info.value.source == source
    return info.value.problems


# --------------------------------------------------------------------------- ReactFlow import


def test_node_type_is_ours_from_node_type() -> None:
    doc = imported(rf_flow([rf_node("s", "start", {})], []))
    assert doc["nodes"] == [{"id": "s", "type": "start"}]


def test_node_type_falls_back_to_data_type() -> None:
    doc = imported(rf_flow([rf_node("t", "custom", {"type": "transform", "value": 3})], []))
    assert doc["nodes"] == [{"id": "t", "type": "transform", "params": {"value": 3}}]


def test_node_type_wins_over_data_type_and_data_type_is_not_a_param() -> None:
    doc = imported(rf_flow([rf_node("t", "transform", {"type": "set", "value": 3})], []))
    assert doc["nodes"] == [{"id": "t", "type": "transform", "params": {"value": 3}}]


def test_label_is_the_name_and_options_come_from_data() -> None:
    data = {
        "type": "tool",
        "label": "Call it",
        "tool": "echo",
        "args": {"a": 1},
        "retry": {"max_attempts": 2},
        "timeout": 5,
        "compensate": {"tool": "echo"},
        "idempotency_key": "k",
    }
    (node,) = imported(rf_flow([rf_node("t", "custom", data)], []))["nodes"]
    assert node == {
        "id": "t",
        "type": "tool",
        "name": "Call it",
        "retry": {"max_attempts": 2},
        "timeout": 5,
        "compensate": {"tool": "echo"},
        "idempotency_key": "k",
        "params": {"tool": "echo", "args": {"a": 1}},
    }


def test_parent_id_v12_and_parent_node_v11() -> None:
    flow = rf_flow(
        [
            rf_node("L", "loop", {"mode": "for", "count": 2}),
            rf_node("a", "start", {}, parentId="L", extent="parent"),
            rf_node("b", "transform", {"value": 1}, parentNode="L"),
        ],
        [],
    )
    nodes = {n["id"]: n for n in imported(flow)["nodes"]}
    assert nodes["a"]["parent"] == "L"
    assert nodes["b"]["parent"] == "L"
    assert "parent" not in nodes["L"]


def test_edges_source_handle_is_the_handle_and_null_means_out() -> None:
    flow = rf_flow(
        [
            rf_node("s", "start", {}),
            rf_node("c", "condition", {"expression": "true"}),
            rf_node("e", "end", {}),
        ],
        [
            rf_edge("s", "c", None, id="e1", targetHandle="in"),
            rf_edge("c", "e", "true", targetHandle="x"),
        ],
    )
    edges = imported(flow)["edges"]
    assert edges == [
        {"source": "s", "target": "c", "id": "e1"},
        {"source": "c", "target": "e", "handle": "true"},
    ]
    validated = workflow_from_data(flow, source="f.json", default_id="f")
    assert [e.handle for e in validated.workflow.edges] == ["out", "true"]


def test_layout_fields_are_ignored() -> None:
    layout = {
        "position": {"x": 1, "y": 2},
        "positionAbsolute": {"x": 1, "y": 2},
        "measured": {"width": 10, "height": 5},
        "width": 10,
        "height": 5,
        "selected": True,
        "dragging": False,
        "style": {"w": 1},
        "zIndex": 3,
        "sourcePosition": "right",
        "targetPosition": "left",
        "resizing": False,
    }
    flow = rf_flow(
        [
            {"id": "s", "type": "start", "data": {}, **layout},
            {"id": "e", "type": "end", "data": {"label": "End"}, **layout},
        ],
        [
            {
                "source": "s",
                "target": "e",
                "sourceHandle": None,
                "targetHandle": None,
                "animated": True,
                "style": {"stroke": "red"},
                "markerEnd": {"type": "arrow"},
                "type": "smoothstep",
                "zIndex": 9999,
                "interactionWidth": 40,
                "label": "go",
                "data": {"anything": 1},
                "className": "",
            }
        ],
    )
    validated = workflow_from_data(flow, source="f.json", default_id="f")
    assert [n.id for n in validated.workflow.nodes] == ["s", "e"]
    assert validated.workflow.node("e").name == "End"
    assert len(validated.workflow.edges) == 1


def test_node_without_data_is_accepted() -> None:
    flow = rf_flow([rf_node("s", "start"), rf_node("e", "end", None)], [rf_edge("s", "e")])
    validated = workflow_from_data(flow, source="f.json", default_id="f")
    assert validated.topology.levels[None].nodes == ("s", "e")


def test_workflow_fields_beside_nodes_are_kept() -> None:
    flow = rf_flow(
        [rf_node("s", "start", {}), rf_node("e", "end", {"outputs": {"x": "{{ vars.v }}"}})],
        [rf_edge("s", "e")],
        id="named",
        version=3,
        name="N",
        description="D",
        variables={"v": 1},
        outputs={"x": "{{ vars.v }}"},
    )
    validated = workflow_from_data(flow, source="f.json", default_id="stem")
    wf = validated.workflow
    assert (wf.id, wf.version, wf.name, wf.description) == ("named", 3, "N", "D")
    assert set(wf.variables) == {"v"}
    assert wf.outputs is not None and set(wf.outputs) == {"x"}


def test_workflow_id_defaults_to_the_file_stem(tmp_path: Path) -> None:
    flow = rf_flow([rf_node("s", "start", {})], [])
    path = write(tmp_path / "my-flow.json", flow)
    assert load_workflow(path).id == "my-flow"


@pytest.mark.parametrize(
    ("wrap", "found_at"),
    [
        (lambda g: {"data": g, "name": "x"}, "data"),
        (lambda g: {"flow": g, "cache": {}}, "flow"),
        (lambda g: {"rfInstance": g, "textNodes": []}, "rfInstance"),
        (lambda g: {"dsl": {"graph": g, "components": {}}, "id": 25}, "dsl.graph"),
        (lambda g: {"graph": g}, "graph"),
    ],
)
def test_wrappers_are_found(wrap: Any, found_at: str) -> None:
    graph = {
        "nodes": [{"id": "s", "type": "start", "data": {}}, {"id": "e", "type": "end", "data": {}}],
        "edges": [{"source": "s", "target": "e"}],
    }
    doc = wrap(graph)
    assert is_reactflow(doc)
    assert document_kind(doc) is DocumentKind.REACTFLOW
    result = import_reactflow(doc, default_id="wrapped")
    assert result.found_at == found_at
    validated = workflow_from_data(doc, source="w.json", default_id="wrapped")
    assert validated.id == "wrapped"
    assert validated.topology.levels[None].nodes == ("s", "e")


def test_wrapped_flow_problem_locations_name_the_wrapper() -> None:
    graph = {
        "nodes": [
            {"id": "s", "type": "start", "data": {}},
            {"id": "t", "type": "tool", "data": {"tool": "echo", "args": []}},
        ],
        "edges": [{"source": "s", "target": "t"}],
    }
    (problem,) = rf_problems({"flow": graph})
    assert problem.location == "flow.nodes[1] (id 't').data.args"
    assert_words(problem.message, "mapping")


def test_unknown_node_types_are_one_problem_per_canvas_type() -> None:
    flow = {
        "data": {
            "nodes": [
                rf_node("s", "start", {}),
                rf_node("a", "llm", {}),
                rf_node("b", "llm", {}),
                rf_node("c", "custom", {"type": "Agent"}),
                rf_node("d", "custom", {"type": "Tool"}),
                rf_node("x", None, {}),
            ],
            "edges": [],
        }
    }
    found = rf_problems(flow)
    assert len(found) == 3
    assert all(p.location == "data.nodes" for p in found)
    by_type = {p.message.split("unknown node type ")[1].split(" ")[0]: p.message for p in found}
    assert set(by_type) == {"'llm'", "'custom'", "(none)"}
    assert_words(by_type["'llm'"], "2 nodes", "a, b")
    assert_words(by_type["'custom'"], "2 nodes", "'Agent' (c)", "'Tool' (d)")
    assert_words(by_type["(none)"], "1 node", "x")
    for message in by_type.values():
        assert_words(message, "start", "transform", "subworkflow")


def test_many_unknown_nodes_are_listed_briefly() -> None:
    flow = rf_flow([rf_node(f"n{i}", "llm", {}) for i in range(10)], [])
    (problem,) = rf_problems(flow)
    assert_words(problem.message, "10 nodes", "n0", "n5", "and 4 more")
    assert "n9" not in problem.message


def test_locations_are_translated_to_reactflow_terms() -> None:
    flow = rf_flow(
        [
            rf_node("s", "start", {}),
            rf_node("t", "tool", {"tool": "echo", "args": {"a": "{{ ( }}"}, "timeout": 0}),
            rf_node("x", "set", {"values": {"a": 1}, "label": 3, "retry": {}}),
        ],
        [rf_edge("s", "t"), rf_edge("t", "x")],
    )
    found = {p.location: p.message for p in rf_problems(flow)}
    assert "nodes[1] (id 't').data.timeout" in found
    assert "nodes[1] (id 't').data.args.a" in found
    assert "nodes[2] (id 'x').data.label" in found
    assert "nodes[2] (id 'x').data.retry" in found
    assert not any(".params" in location for location in found)


def test_parent_and_handle_locations_are_translated() -> None:
    flow = rf_flow(
        [rf_node("s", "start", {}), rf_node("a", "transform", {"value": 1}, parentId="s")],
        [],
    )
    (problem,) = rf_problems(flow)
    assert problem.location == "nodes[1] (id 'a').parentId"
    flow = rf_flow([rf_node("s", "start", {}), rf_node("e", "end", {})], [rf_edge("s", "e", "")])
    (problem,) = rf_problems(flow)
    assert problem.location == "edges[0].sourceHandle"


def test_reactflow_shape_problems() -> None:
    flow = {
        "nodes": [rf_node("s", "start", {}), 5, rf_node("d", "end", data=None) | {"data": 3}],
        "edges": [7],
        "viewport": {},
    }
    found = {p.location: p.message for p in rf_problems(flow)}
    assert_words(found["nodes[1]"], "mapping", "int")
    assert_words(found["nodes[2].data"], "mapping")
    assert_words(found["edges[0]"], "mapping", "int")


def test_reactflow_edges_must_be_a_list() -> None:
    flow = {"nodes": [rf_node("s", "start", {})], "edges": {"a": 1}, "viewport": {}}
    (problem,) = rf_problems(flow)
    assert problem.location == "edges"
    assert_words(problem.message, "list")


def test_import_without_a_graph() -> None:
    with pytest.raises(WorkflowInvalid) as info:
        import_reactflow({"something": 1}, default_id="x")
    assert_words(str(info.value), "no ReactFlow graph")


# --------------------------------------------------------------------------- detection


NATIVE = linear(start(), transform("a", "{{ inputs.x }}"), workflow_id="native")


@pytest.mark.parametrize(
    ("doc", "kind"),
    [
        (NATIVE, DocumentKind.NATIVE),
        (rf_flow([rf_node("s", "start", {})], []), DocumentKind.REACTFLOW),
        (
            {"nodes": [{"id": "s", "type": "start", "data": {}}], "edges": []},
            DocumentKind.REACTFLOW,
        ),
        (
            {"nodes": [{"id": "s", "type": "start", "position": {"x": 0, "y": 0}}]},
            DocumentKind.REACTFLOW,
        ),
        ({"nodes": [], "edges": [], "viewport": {}}, DocumentKind.REACTFLOW),
        ({"workflow": "flow.json", "cases": [{"name": "a"}]}, DocumentKind.FIXTURE),
        ({"workflow": NATIVE}, DocumentKind.FIXTURE),
        ({"cases": []}, DocumentKind.FIXTURE),
        ({"hello": 1}, None),
        ([1, 2], None),
        ("text", None),
        (None, None),
    ],
)
def test_document_kind(doc: Any, kind: DocumentKind | None) -> None:
    assert document_kind(doc) is kind


def test_native_workflow_is_not_reactflow() -> None:
    assert not is_reactflow(NATIVE)


def test_workflow_from_data_refuses_a_fixture() -> None:
    with pytest.raises(WorkflowInvalid) as info:
        workflow_from_data({"workflow": NATIVE, "cases": []}, source="x", default_id="x")
    assert_words(str(info.value), "fixture, not a workflow")


def test_load_workflow_reads_native_yaml_and_reactflow_json(tmp_path: Path) -> None:
    native = load_workflow(write(tmp_path / "n.yaml", NATIVE))
    assert native.id == "native"
    rf = load_workflow(write(tmp_path / "r.json", rf_flow([rf_node("s", "start", {})], [])))
    assert rf.id == "r"


def test_load_workflow_reports_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", linear(start(), transform("a", "{{ loop.index }}")))
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path)
    assert info.value.source == str(path)
    assert info.value.lines()[0].startswith(f"{path}: nodes[1] (id 'a')")


def test_other_suffix_is_read_as_json_then_yaml(tmp_path: Path) -> None:
    assert read_document(write(tmp_path / "a.flow", '{"a": [1]}')) == {"a": [1]}
    assert read_document(write(tmp_path / "b.txt", "a:\n  - 1\n")) == {"a": [1]}


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes('\ufeff{"a": "é"}'.encode())
    assert read_document(path) == {"a": "é"}


def test_fixture_workflow_path_may_be_reactflow(tmp_path: Path) -> None:
    write(
        tmp_path / "flows" / "canvas.json",
        rf_flow(
            [rf_node("s", "start", {}), rf_node("t", "tool", {"tool": "echo"})], [rf_edge("s", "t")]
        ),
    )
    path = write(
        tmp_path / "f.yaml",
        {"workflow": "flows/canvas.json", "cases": [{"name": "one", "inputs": {"a": 1}}]},
    )
    fixture = load_fixture(path)
    assert fixture.workflow.id == "canvas"
    assert fixture.files == ((tmp_path / "flows" / "canvas.json").resolve(),)
    assert fixture.case("one").inputs == {"a": 1}
    with pytest.raises(KeyError):
        fixture.case("two")


def test_fixture_reactflow_problem_is_located_in_reactflow_terms(tmp_path: Path) -> None:
    write(
        tmp_path / "canvas.json",
        rf_flow(
            [rf_node("s", "start", {}), rf_node("t", "tool", {"tool": "echo", "x": 1})],
            [rf_edge("s", "t")],
        ),
    )
    path = write(tmp_path / "f.yaml", {"workflow": "canvas.json", "cases": [{"name": "a"}]})
    with pytest.raises(InvalidDocument) as info:
        load_fixture(path)
    (problem,) = info.value.problems
    assert problem.location == "workflow (canvas.json) nodes[1] (id 't').data.x"


# --------------------------------------------------------------------------- content hash


def _native_doc() -> dict[str, Any]:
    return {
        "id": "same",
        "name": "Same",
        "variables": {"v": "{{ inputs.v }}"},
        "nodes": [
            {"id": "s", "type": "start"},
            {"id": "c", "type": "condition", "params": {"expression": "inputs.v > 1"}},
            {
                "id": "t",
                "type": "tool",
                "name": "Echo",
                "params": {"tool": "echo", "args": {"b": 2, "a": [1, {"y": 1, "x": 2}]}},
                "retry": {"max_attempts": 2},
            },
            {"id": "e", "type": "end", "params": {"outputs": {"r": "{{ nodes.t.output }}"}}},
        ],
        "edges": [
            {"source": "s", "target": "c"},
            {"source": "c", "target": "t", "handle": "true"},
            {"source": "t", "target": "e"},
        ],
    }


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def _as_reactflow(doc: dict[str, Any]) -> dict[str, Any]:
    nodes = []
    for i, n in enumerate(doc["nodes"]):
        data: dict[str, Any] = dict(n.get("params", {}))
        if "name" in n:
            data["label"] = n["name"]
        for option in ("retry", "timeout", "compensate", "idempotency_key"):
            if option in n:
                data[option] = n[option]
        data["type"] = n["type"]
        nodes.append(
            {
                "width": 100,
                "height": 40,
                "data": _reordered(data),
                "position": {"x": i * 50, "y": 0},
                "type": "custom",
                "id": n["id"],
                "selected": False,
            }
        )
    edges = [
        {
            "targetHandle": None,
            "target": e["target"],
            "source": e["source"],
            "sourceHandle": e.get("handle"),
            "animated": False,
        }
        for e in doc["edges"]
    ]
    return {
        "viewport": {"x": 0, "y": 0, "zoom": 1.5},
        "edges": edges,
        "nodes": nodes,
        "variables": doc["variables"],
        "name": doc["name"],
        "id": doc["id"],
    }


def test_content_hash_is_equal_across_formats_and_key_orders(tmp_path: Path) -> None:
    doc = _native_doc()
    json_path = tmp_path / "a.json"
    json_path.write_text(json.dumps(doc, indent=4), encoding="utf-8")
    yaml_path = tmp_path / "b.yaml"
    yaml_path.write_text(yaml.safe_dump(_reordered(doc), sort_keys=False), encoding="utf-8")
    rf_path = tmp_path / "c.json"
    rf_path.write_text(json.dumps(_as_reactflow(doc), separators=(",", ":")), encoding="utf-8")
    hashes = {load_workflow(p).content_hash for p in (json_path, yaml_path, rf_path)}
    assert len(hashes) == 1
    assert len(next(iter(hashes))) == 64


def test_content_hash_ignores_explicit_defaults() -> None:
    plain = _native_doc()
    explicit = _native_doc()
    explicit["version"] = 1
    explicit["edges"][0]["handle"] = "out"
    explicit["nodes"][2]["params"]["args"] = plain["nodes"][2]["params"]["args"]
    assert validate_workflow(plain).content_hash == validate_workflow(explicit).content_hash


def test_content_hash_changes_with_the_workflow() -> None:
    base = validate_workflow(_native_doc()).content_hash
    changed = _native_doc()
    changed["nodes"][1]["params"]["expression"] = "inputs.v > 2"
    assert validate_workflow(changed).content_hash != base
    renamed = _native_doc()
    renamed["nodes"][2]["name"] = "Other"
    assert validate_workflow(renamed).content_hash != base


def test_to_document_round_trips() -> None:
    validated = validate_workflow(_native_doc())
    again = validate_workflow(validated.workflow.to_document())
    assert again.content_hash == validated.content_hash
    assert again.workflow == validated.workflow


_DEFAULTED = {
    "tool without args": {"id": "t", "type": "tool", "params": {"tool": "echo"}},
    "loop without max_iterations": {
        "id": "t",
        "type": "loop",
        "params": {"mode": "for", "count": 1},
    },
    "parallel without max_concurrency": {
        "id": "t",
        "type": "parallel",
        "params": {"mode": "count", "count": 1},
    },
    "fail without message": {"id": "t", "type": "fail", "params": {"code": "X"}},
    "input without prompt": {"id": "t", "type": "input"},
    "subworkflow without inputs": {"id": "t", "type": "subworkflow", "params": {"workflow": "w"}},
    "compensation without args": {
        "id": "t",
        "type": "tool",
        "params": {"tool": "echo", "args": {}},
        "compensate": {"tool": "echo"},
    },
}


def _defaulted(node: dict[str, Any]) -> dict[str, Any]:
    nodes = [{"id": "s", "type": "start"}, node]
    if node["type"] in ("loop", "parallel"):
        nodes.append({"id": "body", "type": "start", "parent": "t"})
    return {"id": "w", "nodes": nodes, "edges": [{"source": "s", "target": "t"}]}


@pytest.mark.parametrize("case", sorted(_DEFAULTED))
def test_content_hash_of_workflows_relying_on_defaults(case: str) -> None:
    """Most real workflows leave optional params out; their hash and native document must
    still be computable, and equal to those of the same workflow with the defaults given."""
    validated = validate_workflow(_defaulted(_DEFAULTED[case]))
    document = validated.workflow.to_document()
    assert validate_workflow(document).content_hash == validated.content_hash


def test_defaulted_params_are_templates_like_given_ones() -> None:
    """Engines render params (`max_iterations`, `message`, `prompt`, `args`, `inputs`)
    whether the author wrote them or not: a default must be the same kind of object as a
    value given explicitly."""
    scope: dict[str, Any] = {"inputs": {}, "vars": {}, "nodes": {}, "env": {}}
    checks = {
        "loop without max_iterations": ("max_iterations", 1000),
        "parallel without max_concurrency": ("max_concurrency", 10),
        "fail without message": ("message", ""),
        "input without prompt": ("prompt", ""),
        "tool without args": ("args", {}),
        "subworkflow without inputs": ("inputs", {}),
    }
    for case, (field, value) in checks.items():
        node = validate_workflow(_defaulted(_DEFAULTED[case])).workflow.node("t")
        param = getattr(node.params, field)  # type: ignore[attr-defined]
        assert hasattr(param, "render"), f"{case}: params.{field} is {param!r}"
        assert param.render(scope) == value


# --------------------------------------------------------------------------- real flows

#: The saved flows of other products in ../shared/real-flows and where their graph sits.
REAL_FLOW_FILES = {
    "chainforge-structured-outputs.json": "flow",
    "flojoy-and-app.json": "rfInstance",
    "flowise-agentflowv2-human-in-the-loop.json": "",
    "flowise-agentflowv2-iterations.json": "",
    "flowise-chatflow-antonym.json": "",
    "flowise-chatflow-react-agent.json": "",
    "langflow-basic-prompting.json": "data",
    "ragflow-title-chunker.json": "dsl.graph",
}


def _graph(doc: dict[str, Any], found_at: str) -> dict[str, Any]:
    for key in filter(None, found_at.split(".")):
        doc = doc[key]
    return doc


def _find_graph(doc: dict[str, Any]) -> dict[str, Any]:
    for found_at in ("", "data", "flow", "rfInstance", "dsl.graph", "graph"):
        try:
            graph = _graph(doc, found_at)
        except (KeyError, TypeError):
            continue
        if isinstance(graph, dict) and isinstance(graph.get("nodes"), list):
            return graph
    raise AssertionError("no graph")


def test_real_flows_folder_exists() -> None:
    assert REAL_FLOWS.is_dir(), f"{REAL_FLOWS} is missing"
    present = {p.name for p in REAL_FLOWS.glob("*.json")}
    assert set(REAL_FLOW_FILES) <= present, set(REAL_FLOW_FILES) - present


@pytest.mark.parametrize("name", sorted(REAL_FLOW_FILES))
def test_real_flow_names_every_node_type_it_does_not_understand(name: str) -> None:
    path = REAL_FLOWS / name
    assert path.is_file(), f"{path} is missing"
    with pytest.raises(WorkflowInvalid) as info:
        load_workflow(path)
    error = info.value
    assert error.source == str(path)
    graph = _graph(json.loads(path.read_text(encoding="utf-8")), REAL_FLOW_FILES[name])
    canvas_types = {str(n.get("type")) for n in graph["nodes"]}
    prefix = f"{REAL_FLOW_FILES[name]}.nodes" if REAL_FLOW_FILES[name] else "nodes"
    assert len(error.problems) == len(canvas_types)
    for problem in error.problems:
        assert problem.location == prefix
        assert "unknown node type" in problem.message
    text = "\n".join(p.message for p in error.problems)
    for canvas_type in canvas_types:
        assert f"unknown node type '{canvas_type}'" in text
    for node in graph["nodes"][:6]:
        assert str(node["id"]) in text


def test_every_real_flow_gives_a_setup_error_and_nothing_else() -> None:
    files = sorted(REAL_FLOWS.glob("*.json"))
    assert files, f"no flows in {REAL_FLOWS}"
    for path in files:
        try:
            load_workflow(path)
        except (WorkflowInvalid, DocumentError) as exc:
            assert "unknown node type" in str(exc), path
        else:  # pragma: no cover - a failure message
            pytest.fail(f"{path} was accepted")


def _compat() -> list[str]:
    script = Path(sys.executable).with_name("compat")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "compat.cli"]


def test_compat_validate_on_the_real_flows_folder() -> None:
    assert REAL_FLOWS.is_dir(), f"{REAL_FLOWS} is missing"
    run = subprocess.run(
        [*_compat(), "validate", str(REAL_FLOWS)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    lines = run.stdout.splitlines()
    files = sorted(REAL_FLOWS.glob("*.json"))
    expected = 0
    for path in files:
        graph = _find_graph(json.loads(path.read_text(encoding="utf-8")))
        expected += len({str(n.get("type")) for n in graph["nodes"]})
    assert len(lines) == expected
    for line in lines:
        assert line.startswith(str(REAL_FLOWS)), line
        assert "unknown node type" in line
    for name in REAL_FLOW_FILES:
        assert any(line.startswith(str(REAL_FLOWS / name) + ":") for line in lines), name
    assert_words(run.stderr, f"{len(files)} of {len(files)} documents invalid")
