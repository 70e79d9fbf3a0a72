"""Importing ReactFlow saved flows (`toObject()`: `{nodes, edges, viewport}`).

A node's type comes from `node.type`, or from `data.type` when `node.type` is a canvas
renderer name ("custom", "default" ...); `data.label` becomes the node's name,
`data.retry`/`timeout`/`compensate`/`idempotency_key` the node options, the rest of `data`
its params, `parentId` (v12) or `parentNode` (v11) its parent, and an edge's `sourceHandle`
its handle. Layout (position, measured, style, markers ...) is ignored.

Flows saved by other tools wrap the ReactFlow object (`data`, `flow`, `rfInstance`,
`dsl.graph`); the wrapper is found and named, so that a flow from another product gets a
precise answer — which of its node types compat does not know — instead of a shape error.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engines.errors import Problem, WorkflowInvalid
from engines.model.nodes import NODE_TYPES

#: Keys of `data` that are node options rather than params.
_OPTION_KEYS = ("retry", "timeout", "compensate", "idempotency_key")
#: Where other tools keep the ReactFlow object inside their own saved files.
_WRAPPERS: tuple[tuple[str, ...], ...] = (
    ("data",),
    ("flow",),
    ("rfInstance",),
    ("dsl", "graph"),
    ("graph",),
    ("reactflow",),
)
_WORKFLOW_KEYS = ("id", "version", "name", "description", "variables", "outputs")


@dataclass(frozen=True)
class ReactFlowImport:
    """A ReactFlow document turned into the native form."""

    document: dict[str, Any]
    #: Dotted path of the wrapper the graph was found in ("" when at the top level).
    found_at: str
    mapper: Callable[[str], str]


def _looks_like_graph(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("nodes"), list)


def locate_graph(doc: Any) -> tuple[dict[str, Any], str] | None:
    """The ReactFlow object inside `doc` and where it was, or None."""
    if _looks_like_graph(doc):
        return doc, ""
    if not isinstance(doc, dict):
        return None
    for path in _WRAPPERS:
        current: Any = doc
        for key in path:
            current = current.get(key) if isinstance(current, dict) else None
        if _looks_like_graph(current):
            return current, ".".join(path)
    return None


def is_reactflow(doc: Any) -> bool:
    """A document is ReactFlow-shaped when it has a viewport, wraps a graph, or any node
    carries ReactFlow's `data` or `position`."""
    found = locate_graph(doc)
    if found is None:
        return False
    graph, found_at = found
    if found_at or "viewport" in graph:
        return True
    return any(
        isinstance(node, dict) and ("data" in node or "position" in node) for node in graph["nodes"]
    )


_NODE_PREFIX = r"^(nodes\[\d+\](?: \(id '(?:[^'\\]|\\.)*'\))?)"
_RENAMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(_NODE_PREFIX + r"\.params\b"), r"\1.data"),
    (re.compile(_NODE_PREFIX + r"\.name\b"), r"\1.data.label"),
    (re.compile(_NODE_PREFIX + r"\.parent\b"), r"\1.parentId"),
    (re.compile(_NODE_PREFIX + r"\.(retry|timeout|compensate|idempotency_key)\b"), r"\1.data.\2"),
    (re.compile(r"^(edges\[\d+\](?: \([^)]*\))?)\.handle\b"), r"\1.sourceHandle"),
)


def _mapper(found_at: str) -> Callable[[str], str]:
    prefix = f"{found_at}." if found_at else ""

    def map_location(location: str) -> str:
        for pattern, replacement in _RENAMES:
            location = pattern.sub(replacement, location)
        if location.startswith(("nodes", "edges")):
            return prefix + location
        return location

    return map_location


def _node_kind(node: dict[str, Any], data: dict[str, Any]) -> tuple[str | None, str, str]:
    """(our node type or None, the node's canvas type, what `data` says the node is)."""
    rf_type, data_type = node.get("type"), data.get("type")
    if rf_type in NODE_TYPES:
        return rf_type, rf_type, ""
    if data_type in NODE_TYPES:
        return data_type, str(rf_type), ""
    label = repr(rf_type) if rf_type is not None else "(none)"
    for key in ("type", "name", "func"):
        if isinstance(data.get(key), str):
            return None, label, f"data.{key} {data[key]!r}"
    return None, label, ""


def _listing(ids: list[str], limit: int = 6) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def import_reactflow(doc: Any, *, default_id: str) -> ReactFlowImport:
    """Convert a ReactFlow document to the native form. Raises `WorkflowInvalid` listing
    every node type and shape it does not understand."""
    found = locate_graph(doc)
    if found is None:
        raise WorkflowInvalid(
            [
                Problem(
                    "",
                    "no ReactFlow graph found: expected `nodes` and "
                    "`edges` at the top level or under data, flow, "
                    "rfInstance or dsl.graph",
                )
            ]
        )
    graph, found_at = found
    where = f"{found_at}." if found_at else ""
    problems: list[Problem] = []
    unknown: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    nodes: list[dict[str, Any]] = []
    for index, node in enumerate(graph["nodes"]):
        location = f"{where}nodes[{index}]"
        if not isinstance(node, dict):
            problems.append(
                Problem(location, f"a node must be a mapping, not {type(node).__name__}")
            )
            continue
        data = node.get("data", {})
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problems.append(Problem(f"{location}.data", "must be a mapping"))
            continue
        kind, canvas_type, variant = _node_kind(node, data)
        if kind is None:
            unknown[canvas_type][variant].append(str(node.get("id", f"#{index}")))
            continue
        native: dict[str, Any] = {"id": node.get("id"), "type": kind}
        if "label" in data:
            native["name"] = data["label"]
        for key in _OPTION_KEYS:
            if key in data:
                native[key] = data[key]
        params = {k: v for k, v in data.items() if k not in ("label", "type", *_OPTION_KEYS)}
        if params:
            native["params"] = params
        parent = node.get("parentId", node.get("parentNode"))
        if parent is not None:
            native["parent"] = parent
        nodes.append(native)
    for canvas_type, variants in unknown.items():
        count = sum(len(ids) for ids in variants.values())
        described = "; ".join(
            f"{variant} ({_listing(ids)})" if variant else _listing(ids)
            for variant, ids in variants.items()
        )
        problems.append(
            Problem(
                f"{where}nodes",
                f"unknown node type {canvas_type} on {count} node{'s' if count > 1 else ''}: "
                f"{described}. compat's node types are: {', '.join(NODE_TYPES)} "
                "(a flow saved by another product: see docs/dialects.md for --dialect and "
                "mapping files)",
            )
        )
    edges: list[dict[str, Any]] = []
    raw_edges = graph.get("edges", [])
    if not isinstance(raw_edges, list):
        problems.append(Problem(f"{where}edges", "must be a list"))
        raw_edges = []
    for index, edge in enumerate(raw_edges):
        if not isinstance(edge, dict):
            problems.append(
                Problem(
                    f"{where}edges[{index}]",
                    f"an edge must be a mapping, not {type(edge).__name__}",
                )
            )
            continue
        native_edge = {"source": edge.get("source"), "target": edge.get("target")}
        if edge.get("id") is not None:
            native_edge["id"] = edge["id"]
        if edge.get("sourceHandle") is not None:
            native_edge["handle"] = edge["sourceHandle"]
        edges.append(native_edge)
    if problems:
        raise WorkflowInvalid(problems)
    document: dict[str, Any] = {"id": default_id}
    for key in _WORKFLOW_KEYS:
        if key in graph:
            document[key] = graph[key]
    document["nodes"] = nodes
    document["edges"] = edges
    return ReactFlowImport(document, found_at, _mapper(found_at))
