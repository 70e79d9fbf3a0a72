"""Reading a Flowise AgentFlow v2 file into plain nodes and edges (no mapping yet).

Where things live in AgentFlow v2 (FlowiseAI/Flowise `packages/server/marketplaces/
agentflowsv2`): the graph is at the top level; `node.type` is a canvas renderer
(`agentFlow`, `iteration`, `stickyNote`) and the real kind is `data.name`
(`llmAgentflow`, …; `data.type` is its display form, `LLM`); settings are in `data.inputs`;
a node inside an Iteration names it in `parentNode` (React Flow v11) or `parentId` (v12).
An edge's `sourceHandle` is `<source id>-output-<suffix>`: the suffix is the output's index
for Human Input (0 proceed, 1 reject) and Condition (one per condition, then else), and the
node's name otherwise; `targetHandle` is the bare target id and carries nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

START = "startAgentflow"
CONDITION = "conditionAgentflow"
ITERATION = "iterationAgentflow"
LOOP = "loopAgentflow"
HUMAN = "humanInputAgentflow"
LLM = "llmAgentflow"
AGENT = "agentAgentflow"
TOOL = "toolAgentflow"
NOTE = "stickyNoteAgentflow"
#: Canvas renderers of AgentFlow v2 nodes.
CANVAS_TYPES = ("agentFlow", "iteration", "stickyNote")


@dataclass
class FNode:
    """A foreign node: its id, kind (`data.name`), display kind (`data.type`) and inputs."""

    id: str
    index: int
    name: str
    kind: str
    label: str
    inputs: dict[str, Any]
    parent: str | None

    @property
    def location(self) -> str:
        return f"nodes[{self.index}] (id {self.id!r})"


@dataclass(frozen=True)
class FEdge:
    """A foreign edge with its source handle read as a compat handle name."""

    index: int
    source: str
    target: str
    handle: str


@dataclass
class FlowiseGraph:
    nodes: list[FNode] = field(default_factory=list)
    edges: list[FEdge] = field(default_factory=list)
    #: (location, node id, kind, reason) of what could not even be read.
    unreadable: list[tuple[str, str, str, str]] = field(default_factory=list)

    def node(self, node_id: str) -> FNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def outgoing(self, node_id: str) -> list[FEdge]:
        return [e for e in self.edges if e.source == node_id]

    def incoming(self, node_id: str) -> list[FEdge]:
        return [e for e in self.edges if e.target == node_id]


def is_flowise_v2(doc: Any) -> bool:
    """An AgentFlow v2 file: a top-level graph with an `agentFlow` Start node."""
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        return False
    return any(
        isinstance(node, dict)
        and node.get("type") in CANVAS_TYPES
        and isinstance(node.get("data"), dict)
        and node["data"].get("name") == START
        for node in doc["nodes"]
    )


def conditions_of(node: FNode) -> list[Any]:
    conditions = node.inputs.get("conditions")
    return conditions if isinstance(conditions, list) else []


def _handle(source: FNode | None, raw: Any, edge: dict[str, Any]) -> str | None:
    """The compat handle an edge leaves through; None when it cannot be read."""
    if source is None:
        return "out"
    prefix = f"{source.id}-output-"
    suffix = raw[len(prefix) :] if isinstance(raw, str) and raw.startswith(prefix) else None
    if source.name == HUMAN:
        label = (edge.get("data") or {}).get("edgeLabel")
        by_index = {"0": "proceed", "1": "reject"}.get(suffix or "")
        if label in ("proceed", "reject") and by_index not in (None, label):
            return None
        return by_index or (label if label in ("proceed", "reject") else None)
    if source.name == CONDITION:
        if suffix is None or not suffix.isdigit():
            return None
        index, count = int(suffix), len(conditions_of(source))
        if index < count:
            return f"condition_{index}"
        return "default" if index == count else None
    return "out"


def read_graph(doc: dict[str, Any]) -> FlowiseGraph:
    graph = FlowiseGraph()
    for index, node in enumerate(doc.get("nodes", [])):
        if not isinstance(node, dict) or not isinstance(node.get("data"), dict):
            where = f"nodes[{index}]"
            graph.unreadable.append((where, f"#{index}", "?", "a node must be a mapping with data"))
            continue
        data = node["data"]
        node_id = str(node.get("id", f"#{index}"))
        inputs = data.get("inputs") if isinstance(data.get("inputs"), dict) else {}
        parent = node.get("parentId", node.get("parentNode"))
        graph.nodes.append(
            FNode(
                id=node_id,
                index=index,
                name=str(data.get("name", "")),
                kind=str(data.get("type") or data.get("name") or node.get("type")),
                label=str(data.get("label", "")),
                inputs=inputs,
                parent=str(parent) if parent is not None else None,
            )
        )
    by_id = {n.id: n for n in graph.nodes}
    edges = doc.get("edges", [])
    for index, edge in enumerate(edges if isinstance(edges, list) else []):
        if not isinstance(edge, dict):
            graph.unreadable.append((f"edges[{index}]", f"#{index}", "edge", "not a mapping"))
            continue
        source, target = str(edge.get("source")), str(edge.get("target"))
        handle = _handle(by_id.get(source), edge.get("sourceHandle"), edge)
        if handle is None:
            graph.unreadable.append(
                (
                    f"edges[{index}]",
                    source,
                    by_id[source].kind,
                    f"the edge to {target!r} leaves through output "
                    f"{edge.get('sourceHandle')!r}, which this node does not have",
                )
            )
            continue
        graph.edges.append(FEdge(index, source, target, handle))
    return graph
