"""ReactFlow import and the saved flows of other products in ../shared/real-flows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    REAL_FLOWS,
    assert_words,
    rf_edge,
    rf_flow,
    rf_node,
    write,
)

from engines.documents import (
    DocumentKind,
    document_kind,
    import_reactflow,
    is_reactflow,
    load_workflow,
    workflow_from_data,
)
from engines.errors import DocumentError, WorkflowInvalid

# --------------------------------------------------------------------------- builders


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


#: The real flows a built-in dialect reads (engines/documents/dialects, docs/dialects.md);
#: tests/dialect_import runs them. Every other real flow still gets a precise refusal.
DIALECT_FLOWS = {
    "flowise-agentflowv2-human-in-the-loop.json",
    "flowise-agentflowv2-iterations.json",
}
UNMAPPED_FLOWS = sorted(set(REAL_FLOW_FILES) - DIALECT_FLOWS)
#: The stand-in tool the dialects call is registered by this configuration.
REAL_FIXTURES_CONFIG = Path(__file__).resolve().parents[1] / "real-fixtures" / "compat.toml"


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


@pytest.mark.needs_shared
def test_real_flows_folder_exists() -> None:
    assert REAL_FLOWS.is_dir(), f"{REAL_FLOWS} is missing"
    present = {p.name for p in REAL_FLOWS.glob("*.json")}
    assert set(REAL_FLOW_FILES) <= present, set(REAL_FLOW_FILES) - present


@pytest.mark.needs_shared
@pytest.mark.parametrize("name", UNMAPPED_FLOWS)
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
    assert "docs/dialects.md" in text


@pytest.mark.needs_shared
def test_every_real_flow_gives_a_setup_error_and_nothing_else() -> None:
    files = sorted(REAL_FLOWS.glob("*.json"))
    assert files, f"no flows in {REAL_FLOWS}"
    for path in files:
        if path.name in DIALECT_FLOWS:  # read by the built-in Flowise AgentFlow v2 dialect
            validated = load_workflow(path)
            assert any(n.type == "loop" for n in validated.workflow.nodes), path
            continue
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


@pytest.mark.needs_shared
def test_compat_validate_on_the_real_flows_folder() -> None:
    assert REAL_FLOWS.is_dir(), f"{REAL_FLOWS} is missing"
    config = ["--config", str(REAL_FIXTURES_CONFIG)]
    run = subprocess.run(
        [*_compat(), "validate", *config, str(REAL_FLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    lines = run.stdout.splitlines()
    files = sorted(REAL_FLOWS.glob("*.json"))
    expected = len(DIALECT_FLOWS)  # one "ok" line each
    for path in files:
        if path.name not in DIALECT_FLOWS:
            graph = _find_graph(json.loads(path.read_text(encoding="utf-8")))
            expected += len({str(n.get("type")) for n in graph["nodes"]})
    assert len(lines) == expected
    for line in lines:
        assert line.startswith(str(REAL_FLOWS)), line
        name = line[len(str(REAL_FLOWS)) + 1 :].split(":")[0]
        if name in DIALECT_FLOWS:
            assert ": ok (ReactFlow flow" in line, line
        else:
            assert "unknown node type" in line
    for name in REAL_FLOW_FILES:
        assert any(line.startswith(str(REAL_FLOWS / name) + ":") for line in lines), name
    bad = len(files) - len(DIALECT_FLOWS)
    assert_words(run.stderr, f"{bad} of {len(files)} documents invalid")
