"""Running one workflow on both engines, for the budget tests: small workflows around one
template, and the facts both runs must share (the same error code on the same node, with the
same message naming the limit)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from compat.engines import GraphAdapter, JourneyAdapter
from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunResult
from engines.tools import ToolRegistry, builtin_registry

ADAPTERS = (GraphAdapter, JourneyAdapter)


def one_node(value: Any, node_type: str = "transform", **params: Any) -> dict[str, Any]:
    """start -> t (a transform of `value`, or another node type) -> end (outputs t's output)."""
    node: dict[str, Any] = {"id": "t", "type": node_type, "params": params}
    if node_type == "transform":
        node["params"] = {"value": value}
    return {
        "id": "wf",
        "nodes": [
            {"id": "start", "type": "start"},
            node,
            {"id": "end", "type": "end", "params": {"outputs": {"v": "{{ nodes.t.output }}"}}},
        ],
        "edges": [{"source": "start", "target": "t"}, {"source": "t", "target": "end"}],
    }


def run_both(
    doc: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    conversation: Sequence[Any] = (),
    tools: ToolRegistry | None = None,
) -> dict[str, RunResult]:
    """The result of each engine, on a fresh virtual clock."""
    tools = tools or builtin_registry()
    registry = WorkflowRegistry([validate_workflow(doc)], tools=tools)
    return {
        adapter.name: adapter(tools).run_case(registry, inputs or {}, list(conversation))
        for adapter in ADAPTERS
    }


def errors(result: RunResult) -> list[tuple[str, str, str]]:
    return [(e.node, e.code, e.message) for e in result.errors]


def same_failure(results: dict[str, RunResult], node: str, code: str) -> str:
    """Both engines failed with exactly one error, `code` on `node`, with the same message;
    that message is returned."""
    graph, journey = results["graph"], results["journey"]
    assert errors(graph) == errors(journey), (errors(graph), errors(journey))
    assert graph.status.value == journey.status.value == "failed", graph.status
    assert [(e.node, e.code) for e in graph.errors] == [(node, code)], errors(graph)
    return graph.errors[0].message


def same_outputs(results: dict[str, RunResult]) -> dict[str, Any]:
    """Both engines completed with the same outputs (as JSON text), which are returned."""
    graph, journey = results["graph"], results["journey"]
    assert graph.status.value == "completed", errors(graph)
    assert journey.status.value == "completed", errors(journey)
    text = json.dumps(graph.outputs, sort_keys=True)
    assert text == json.dumps(journey.outputs, sort_keys=True)
    return graph.outputs
