"""The Flowise AgentFlow v2 dialect on hand-built flows: what it maps, and what it refuses
(node id, kind and reason), without ../shared."""

from __future__ import annotations

from typing import Any

import pytest

from engines.documents import workflow_from_data
from engines.documents.dialects import DialectOptions, detect_dialect
from engines.documents.dialects.flowise import FlowiseAgentflowV2
from engines.errors import ToolError, WorkflowInvalid
from engines.tools import builtin_registry
from engines.tools.stand_in import stand_in

DIALECT = FlowiseAgentflowV2()


def fnode(node_id: str, name: str, kind: str, parent: str | None = None, **inputs: Any) -> dict:
    node: dict[str, Any] = {
        "id": node_id,
        "type": "iteration" if name == "iterationAgentflow" else "agentFlow",
        "data": {"id": node_id, "name": name, "type": kind, "label": kind, "inputs": inputs},
    }
    if parent is not None:
        node["parentNode"] = parent
    return node


def fedge(source: str, target: str, suffix: str, label: str | None = None) -> dict:
    edge: dict[str, Any] = {
        "source": source,
        "sourceHandle": f"{source}-output-{suffix}",
        "target": target,
        "targetHandle": target,
    }
    if label is not None:
        edge["data"] = {"edgeLabel": label, "isHumanInput": True}
    return edge


START = fnode("s", "startAgentflow", "Start", startInputType="chatInput")


def flow(nodes: list[dict], edges: list[dict]) -> dict:
    return {"nodes": [START, *nodes], "edges": edges}


def convert(doc: dict, **bindings: str) -> dict:
    return DIALECT.convert(doc, default_id="f", options=DialectOptions(bindings)).document


def refusals(doc: dict) -> list[str]:
    with pytest.raises(WorkflowInvalid) as info:
        convert(doc)
    return [str(p) for p in info.value.problems]


def test_detected_from_content_only() -> None:
    doc = flow([], [])
    found = detect_dialect(doc)
    assert found is not None and found.name == "flowise-agentflow-v2"
    assert detect_dialect({"nodes": [{"id": "a", "type": "agentFlow", "data": {}}]}) is None
    assert detect_dialect({"nodes": [], "edges": []}) is None


def test_condition_becomes_a_router_with_default_for_else() -> None:
    condition = fnode(
        "c",
        "conditionAgentflow",
        "Condition",
        conditions=[
            {
                "type": "number",
                "value1": "<p>{{ $form.n }}</p>",
                "operation": "larger",
                "value2": "10",
            },
            {"type": "string", "value1": "{{ question }}", "operation": "contains", "value2": "hi"},
        ],
    )
    big = fnode("big", "llmAgentflow", "LLM", llmUserMessage="big {{ question }}")
    small = fnode("small", "llmAgentflow", "LLM", llmUserMessage="hi")
    other = fnode("other", "toolAgentflow", "Tool", toolAgentflowSelectedTool="calc")
    doc = flow(
        [condition, big, small, other],
        [
            fedge("s", "c", "startAgentflow"),
            fedge("c", "big", "0"),
            fedge("c", "small", "1"),
            fedge("c", "other", "2"),
        ],
    )
    native = convert(doc, LLM="echo", **{"Tool:calc": "add"})
    router = next(n for n in native["nodes"] if n["id"] == "c")
    assert router["type"] == "router"
    assert [r["name"] for r in router["params"]["routes"]] == ["condition_0", "condition_1"]
    handles = {(e["source"], e.get("handle", "out"), e["target"]) for e in native["edges"]}
    assert ("c", "default", "other") in handles
    tools = {n["id"]: n["params"]["tool"] for n in native["nodes"] if n["type"] == "tool"}
    assert tools == {"big": "echo", "small": "echo", "other": "add"}
    validated = workflow_from_data(doc, source="f.json", default_id="f")
    assert validated.workflow.node("big").type == "tool"


def test_iteration_children_by_parent_id_v12_join_the_loop_body() -> None:
    iteration = fnode("it", "iterationAgentflow", "Iteration", iterationInput="{{ $form.rows }}")
    child = fnode("llm", "llmAgentflow", "LLM", llmUserMessage="{{ $iteration.name }}")
    child.pop("parentNode", None)
    child["parentId"] = "it"
    native = convert(flow([iteration, child], [fedge("s", "it", "startAgentflow")]))
    loop = next(n for n in native["nodes"] if n["id"] == "it")
    assert loop["params"] == {"mode": "forEach", "items": "{{ inputs['rows'] }}"}
    body = {n["id"]: n.get("parent") for n in native["nodes"]}
    assert body["llm"] == "it" and body["it.start"] == "it"
    assert {"source": "it.start", "target": "llm"} in native["edges"]
    llm = next(n for n in native["nodes"] if n["id"] == "llm")
    assert llm["params"]["args"]["prompt"] == "{{ loop.item['name'] }}"


def test_unmapped_kinds_and_variables_are_refused_by_node_kind_and_reason() -> None:
    reply = fnode("r", "directReplyAgentflow", "DirectReply")
    llm = fnode("l", "llmAgentflow", "LLM", llmUserMessage="{{ $flow.sessionId }}")
    state = fnode("t", "toolAgentflow", "Tool", toolUpdateState=[{"key": "x", "value": "1"}])
    stray = fnode("i", "llmAgentflow", "LLM", llmUserMessage="{{ $iteration }}")
    found = refusals(
        flow(
            [reply, llm, state, stray],
            [fedge("s", "r", "startAgentflow"), fedge("s", "l", "startAgentflow")],
        )
    )
    assert len(found) == 4
    text = "\n".join(found)
    assert "node 'r' (DirectReply)" in text and "no compat equivalent" in text
    assert "node 'l' (LLM)" in text and "unknown variable {{ $flow.sessionId }}" in text
    assert "node 't' (Tool)" in text and "toolUpdateState" in text
    assert "node 'i' (LLM)" in text and "outside an Iteration" in text
    assert all("[dialect flowise-agentflow-v2]" in line for line in found)


def _review(extra_nodes: list[dict], extra_edges: list[dict], **loop: Any) -> dict:
    """start -> a -> h (Human Input); h reject -> loop (back to a); h proceed -> done."""
    a = fnode("a", "agentAgentflow", "Agent", agentUserMessage="draft")
    h = fnode("h", "humanInputAgentflow", "HumanInput", humanInputDescription="<p>ok?</p>")
    back = fnode("back", "loopAgentflow", "Loop", **({"loopBackToNode": "a-Agent"} | loop))
    done = fnode("done", "toolAgentflow", "Tool", toolAgentflowSelectedTool="mail")
    edges = [
        fedge("s", "a", "startAgentflow"),
        fedge("a", "h", "agentAgentflow"),
        fedge("h", "back", "1", "reject"),
        fedge("h", "done", "0", "proceed"),
    ]
    return flow([a, h, back, done, *extra_nodes], edges + extra_edges)


def test_loop_back_jump_becomes_a_do_while_loop_and_a_router() -> None:
    native = convert(_review([], [], maxLoopCount=2))
    nodes = {n["id"]: n for n in native["nodes"]}
    assert nodes["back"]["params"] == {
        "mode": "doWhile",
        "condition": "vars['flowise_loop_0'] == 'reject' and loop.iteration < 3",
        "max_iterations": 3,
    }
    assert nodes["a"]["parent"] == "back" and nodes["h"]["parent"] == "back"
    assert nodes["h.choice"]["type"] == "set"
    assert nodes["done"].get("parent") is None
    assert {"source": "s", "target": "back"} in native["edges"]
    assert {"source": "h.route", "target": "done", "handle": "proceed"} in native["edges"]
    assert native["variables"] == {"flowise_loop_0": ""}


def test_loop_with_a_second_way_in_is_refused() -> None:
    side = fnode("side", "llmAgentflow", "LLM", llmUserMessage="x")
    (line,) = refusals(
        _review([side], [fedge("s", "side", "startAgentflow"), fedge("side", "h", "llmAgentflow")])
    )
    assert "node 'back' (Loop)" in line
    assert "not single-entry" in line and "'side'" in line and "'h'" in line


def test_loop_with_a_second_way_out_is_refused() -> None:
    leak = fnode("leak", "llmAgentflow", "LLM", llmUserMessage="x")
    (line,) = refusals(_review([leak], [fedge("a", "leak", "agentAgentflow")]))
    assert "node 'back' (Loop)" in line and "not single-exit" in line and "'leak'" in line


def test_loop_target_missing_or_count_bad_is_refused() -> None:
    (line,) = refusals(_review([], [], loopBackToNode="nowhere-X"))
    assert "names no node" in line
    (line,) = refusals(_review([], [], maxLoopCount="many"))
    assert "maxLoopCount" in line


def test_reading_a_node_inside_a_loop_from_outside_is_refused() -> None:
    doc = _review([], [])
    doc["nodes"][4]["data"]["inputs"]["toolInputArgs"] = [
        {"inputArgName": "text", "inputArgValue": "{{ a }}"}
    ]
    (line,) = refusals(doc)
    assert "node 'done' (Tool)" in line and "inside the loop" in line


def test_foreign_text_is_never_evaluated() -> None:
    llm = fnode("l", "llmAgentflow", "LLM", llmUserMessage="<p>{% raw %} {{ question }} {#</p>")
    native = convert(flow([llm], [fedge("s", "l", "startAgentflow")]))
    prompt = native["nodes"][1]["params"]["args"]["prompt"]
    validated = workflow_from_data(
        flow([llm], [fedge("s", "l", "startAgentflow")]), source="f", default_id="f"
    )
    assert validated.workflow.node("l").type == "tool"
    assert "{% endraw %}" in prompt and "{{ inputs.question }}" in prompt


def test_stand_in_echoes_what_the_node_rendered() -> None:
    assert "stand_in" in builtin_registry()  # an imported flow runs without configuration
    result = stand_in({"prompt": "hi", "fields": ["subject"], "kind": "LLM"}, None)  # type: ignore[arg-type]
    assert result == {
        "content": "hi",
        "subject": "subject: hi",
        "echo": {"prompt": "hi", "fields": ["subject"], "kind": "LLM"},
    }
    assert stand_in({"args": {"b": 1, "a": "x"}}, None)["content"] == '{"a": "x", "b": 1}'  # type: ignore[arg-type]
    assert stand_in({"messages": [{"content": "m"}]}, None)["content"] == "m"  # type: ignore[arg-type]
    with pytest.raises(ToolError):
        stand_in({"fields": "subject"}, None)  # type: ignore[arg-type]
