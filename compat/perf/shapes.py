"""Workflows of a parametrisable size, for scaling fits and benchmarks: a chain of n nodes, a
fan-out of width n, a loop of n iterations, and an output of n records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engines.model import ValidatedWorkflow, WorkflowRegistry, validate_workflow


@dataclass(frozen=True)
class Shape:
    """A workflow family: `build(n)` gives the registry and inputs of size n."""

    name: str
    #: What n counts ("nodes", "branches", "iterations", "records").
    unit: str
    build: Callable[[int], tuple[WorkflowRegistry, dict[str, Any]]]
    sizes: tuple[int, ...]


def chain(n: int) -> ValidatedWorkflow:
    """start → n nodes alternating `set` and `transform` → (implicit end)."""
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    for i in range(n):
        if i % 2 == 0:
            nodes.append(
                {"id": f"n{i}", "type": "set", "params": {"values": {"last": "{{ inputs.x }}"}}}
            )
        else:
            nodes.append(
                {"id": f"n{i}", "type": "transform", "params": {"value": "{{ inputs.x }}"}}
            )
    edges = [{"source": "start", "target": "n0"}]
    edges += [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(n - 1)]
    return validate_workflow({"id": f"chain{n}", "nodes": nodes, "edges": edges})


def fan_out(width: int, *, join: Any = 1) -> ValidatedWorkflow:
    """start → `width` independent transforms → one join (a transform of `join`)."""
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    nodes += [
        {"id": f"b{i}", "type": "transform", "params": {"value": "{{ inputs.x }}"}}
        for i in range(width)
    ]
    nodes.append({"id": "join", "type": "transform", "params": {"value": join}})
    edges = [{"source": "start", "target": f"b{i}"} for i in range(width)]
    edges += [{"source": f"b{i}", "target": "join"} for i in range(width)]
    return validate_workflow({"id": f"fan{width}", "nodes": nodes, "edges": edges})


def loop(iterations: int, *, output: str = "{{ loop.index }}") -> ValidatedWorkflow:
    """A `for` loop of `iterations` whose body is one transform rendering `output`."""
    return validate_workflow(
        {
            "id": f"loop{iterations}",
            "nodes": [
                {"id": "start", "type": "start"},
                {
                    "id": "L",
                    "type": "loop",
                    "params": {"mode": "for", "count": iterations, "max_iterations": iterations},
                },
                {"id": "ls", "type": "start", "parent": "L"},
                {"id": "body", "type": "transform", "parent": "L", "params": {"value": output}},
            ],
            "edges": [{"source": "start", "target": "L"}, {"source": "ls", "target": "body"}],
        }
    )


def records(n: int) -> tuple[ValidatedWorkflow, dict[str, Any]]:
    """A workflow passing n records of five leaves through to its outputs."""
    workflow = validate_workflow(
        {
            "id": "records",
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "load", "type": "transform", "params": {"value": "{{ inputs.records }}"}},
                {
                    "id": "end",
                    "type": "end",
                    "params": {"outputs": {"records": "{{ nodes.load.output }}"}},
                },
            ],
            "edges": [{"source": "start", "target": "load"}, {"source": "load", "target": "end"}],
        }
    )
    rows = [{"id": i, "name": f"item-{i}", "score": i * 0.5, "tags": ["a", "b"]} for i in range(n)]
    return workflow, {"records": rows}


def _registry(workflow: ValidatedWorkflow, inputs: dict[str, Any]) -> Any:
    return WorkflowRegistry([workflow]), inputs


SHAPES: dict[str, Shape] = {
    "chain": Shape("chain", "nodes", lambda n: _registry(chain(n), {"x": 1}), (100, 200, 400, 800)),
    "fan-out": Shape(
        "fan-out", "branches", lambda n: _registry(fan_out(n), {"x": 1}), (100, 200, 400, 800)
    ),
    "loop": Shape("loop", "iterations", lambda n: _registry(loop(n), {}), (100, 200, 400, 800)),
    "output": Shape("output", "records", lambda n: _registry(*records(n)), (250, 500, 1000, 2000)),
}
