"""What a campaign generated and what actually ran: one row per feature.

"Generated" counts examples whose documents (and case) hold the feature; "executed" counts
examples whose primary run shows it happening — a node of the type started, a retry was
taken, a compensation ran, a cancel ended the run, a circuit breaker refused a call
(CIRCUIT_OPEN) — read from the run's trace. A feature
generated often but executed rarely is one the fuzzer only pretends to test.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from compat.fuzz.builder import FAILING_TOOLS
from compat.fuzz.features import ALL, GROUPS, NODE_TYPES
from compat.fuzz.strategies import Example
from engines.model import WorkflowRegistry
from engines.result import RunResult

#: Codes that say a tool failed by itself (not the harness's or the engine's own codes).
_ENGINE_CODES = {
    "EXPRESSION_ERROR",
    "TIMEOUT",
    "CANCELLED",
    "SUBWORKFLOW_DEPTH",
    "LOOP_LIMIT",
    "CIRCUIT_OPEN",
}


def generated_features(example: Example) -> set[str]:
    """The features the example's documents and case actually hold."""
    found: set[str] = set()
    docs = example.generated.documents()
    text = json.dumps(docs)
    nested = False
    for doc in docs:
        containers = {n["id"] for n in doc["nodes"] if n["type"] in ("loop", "parallel")}
        for node in doc["nodes"]:
            found.add(node["type"])
            found.update(
                option
                for option in ("retry", "timeout", "compensate", "idempotency_key")
                if option in node
            )
            params = node.get("params", {})
            if node["type"] == "router" and params.get("all_matching"):
                found.add("all_matching")
            if node["type"] in ("loop", "parallel") and node.get("parent") in containers:
                nested = True
            if node["type"] == "input" and "schema" in params:
                found.add("bad_payloads")
            if node["type"] == "tool" and params.get("tool") in (*FAILING_TOOLS, "flaky"):
                found.add("tool_failures")
        if any(edge.get("handle") == "error" for edge in doc["edges"]):
            found.add("error_ports")
        if "outputs" in doc and doc is docs[0]:
            found.add("outputs")
        if any("circuit_breaker" in item for item in doc.get("tools", {}).values()):
            found.add("circuit_breakers")
    found.discard("start")
    if nested:
        found.add("nesting")
    if any(doc["id"].endswith("_rec") for doc in docs[1:]):
        found.add("recursion")
    if example.case.cancel is not None:
        found.add("cancel")
    if "// inputs.z" in text:
        found.add("expression_errors")
    if any(mark in text for mark in ("{%", " | ", "['", '["')):
        found.add("rich_templates")
    for name in ("chain", "roundtrip", "handoff", "replay"):
        if name in example.features:
            found.add(name)
    return found


def _types(registry: WorkflowRegistry) -> dict[str, dict[str, Any]]:
    """Per workflow id: node id -> node (as a model)."""
    return {wid: {n.id: n for n in registry[wid].workflow.nodes} for wid in registry}


def executed_features(example: Example, result: RunResult | None) -> set[str]:
    """The features the primary's run shows happening."""
    if result is None:
        return set()
    registry = example.generated.registry
    nodes = _types(registry)
    generated = generated_features(example)
    found: set[str] = set()
    paused = False
    for event in result.trace:
        workflow_id = registry.main.id
        depth = 0
        containers = 0
        for container, _ in event.path:
            node = nodes[workflow_id].get(container)
            if node is not None and node.type == "subworkflow":
                workflow_id = node.params.workflow
                depth += 1
            else:
                containers += 1
        node = nodes.get(workflow_id, {}).get(event.node)
        kind = event.kind
        if node is not None and kind in ("started", "completed", "deduplicated"):
            found.add(node.type)
            if node.type == "router" and node.params.all_matching:
                found.add("all_matching")
            if node.type == "input" and kind == "completed":
                paused = True
        if containers >= 2:
            found.add("nesting")
        if depth >= 2 and workflow_id.endswith("_rec"):
            found.add("recursion")
        detail = event.detail or {}
        code = detail.get("code")
        if kind == "retrying":
            found.add("retry")
        elif kind == "compensated":
            found.add("compensate")
        elif kind == "deduplicated":
            found.add("idempotency_key")
        if code == "TIMEOUT":
            found.add("timeout")
        elif code == "EXPRESSION_ERROR":
            found.add("expression_errors")
        elif code == "INPUT_INVALID":
            found.add("bad_payloads")
        elif code == "CIRCUIT_OPEN":  # a breaker opened, then refused a call
            found.add("circuit_breakers")
        elif (
            kind == "failed"
            and node is not None
            and node.type == "tool"
            and code not in _ENGINE_CODES
        ):
            found.add("tool_failures")
        if kind == "failed" and detail.get("handled"):
            found.add("error_ports")
    if result.status == "cancelled":
        found.add("cancel")
    if result.status == "completed" and "outputs" in example.generated.document:
        found.add("outputs")
    if any(e.code == "EXPRESSION_ERROR" for e in result.errors):
        found.add("expression_errors")
    if result.trace:
        found.update(name for name in ("chain", "rich_templates") if name in generated)
    if paused or result.status == "paused":
        found.update(name for name in ("roundtrip", "handoff") if name in example.features)
    if "replay" in example.features and "tool" in found:
        found.add("replay")
    return found & generated


@dataclass
class Coverage:
    """Counts per feature over a campaign (merged across rounds and workers)."""

    examples: int = 0
    generated: Counter[str] = field(default_factory=Counter)
    executed: Counter[str] = field(default_factory=Counter)

    def add(self, example: Example, result: RunResult | None) -> None:
        self.examples += 1
        self.generated.update(generated_features(example))
        self.executed.update(executed_features(example, result))

    def merge(self, other: Coverage) -> None:
        self.examples += other.examples
        self.generated.update(other.generated)
        self.executed.update(other.executed)

    def rows(self) -> Iterator[tuple[str, str, int, int]]:
        """(group, feature, generated, executed) for every feature, in a fixed order."""
        for group, names in GROUPS.items():
            for name in names:
                yield group, name, self.generated[name], self.executed[name]

    def missing(self) -> list[str]:
        """Features never executed."""
        return [name for name in ALL if not self.executed[name]]

    def to_data(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "generated": dict(self.generated),
            "executed": dict(self.executed),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Coverage:
        return cls(data["examples"], Counter(data["generated"]), Counter(data["executed"]))


__all__ = ["NODE_TYPES", "Coverage", "executed_features", "generated_features"]
