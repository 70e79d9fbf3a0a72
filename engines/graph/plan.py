"""The execution plan: a validated workflow compiled once into the tables the scheduler reads.

A plan is immutable and shared by every execution of the workflow (the engine caches plans by
content hash); an execution holds only its own runtime state and refers to the plan for
everything about nodes and edges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from engines.graph.handlers import Handler, compile_inline
from engines.model import NodeBase, ValidatedWorkflow, WorkflowRegistry
from engines.model.nodes import FailNode, ToolNode, WaitNode
from engines.model.tools import CircuitBreaker, effective_breakers
from engines.model.topology import Topology

#: Node types whose work may take clock time, so they run as tasks.
_ASYNC_TYPES = frozenset({"tool", "wait", "subworkflow"})


@dataclass(frozen=True, slots=True)
class NodePlan:
    id: str
    node: NodeBase
    type: str
    #: Container whose body the node is in (None at top level).
    level: str | None
    #: Canonical index within its level.
    index: int
    #: Number of incoming edges.
    incoming: int
    #: Outgoing edges as (handle, target), in declaration order.
    out: tuple[tuple[str, str], ...]
    has_error_edge: bool
    #: Runs as an asyncio task (it may spend clock time or retry with backoff).
    needs_task: bool
    #: The inline handler, called as `handler(node, scope)` (None for containers, inputs and
    #: task nodes). Compiled for `node`: a copy of the plan with another node needs another
    #: handler too.
    handler: Handler | None
    #: Whether completed executions are recorded for compensation.
    compensates: bool


@dataclass(frozen=True, slots=True)
class LevelPlan:
    container: str | None
    start: str
    exit: str | None
    order: tuple[str, ...]
    incoming: MappingProxyType[str, int]
    #: The level's `end` nodes, in canonical order (what a run's default outputs merge).
    ends: tuple[str, ...] = ()


class ExecutionPlan:
    """Everything about a workflow that does not change between executions."""

    def __init__(
        self,
        validated: ValidatedWorkflow,
        registry: WorkflowRegistry,
        breakers: Mapping[str, CircuitBreaker] | None = None,
    ) -> None:
        self.validated = validated
        #: The circuit breakers runs of this plan use, by tool (configuration's and the
        #: workflow's, docs/semantics.md §6); one lookup per tool node execution.
        self.breakers: Mapping[str, CircuitBreaker] = MappingProxyType(
            effective_breakers(breakers or {}, validated.workflow.tools)
        )
        self.registry = registry
        self.workflow = validated.workflow
        self.topology: Topology = validated.topology
        nodes: dict[str, NodePlan] = {}
        levels: dict[str | None, LevelPlan] = {}
        for container, level in self.topology.levels.items():
            incoming = {n: len(level.incoming[n]) for n in level.nodes}
            ends = tuple(n for n in level.nodes if self.workflow.node(n).type == "end")
            levels[container] = LevelPlan(
                container, level.start, level.exit, level.nodes, MappingProxyType(incoming), ends
            )
            for node_id in level.nodes:
                node = self.workflow.node(node_id)
                out = tuple((e.handle, e.target) for e in level.outgoing[node_id])
                nodes[node_id] = NodePlan(
                    id=node_id,
                    node=node,
                    type=node.type,
                    level=container,
                    index=self.topology.index[node_id],
                    incoming=incoming[node_id],
                    out=out,
                    has_error_edge=any(handle == "error" for handle, _ in out),
                    needs_task=_needs_task(node),
                    handler=compile_inline(node),
                    compensates=node.compensate is not None,
                )
        self.nodes = MappingProxyType(nodes)
        self.levels = MappingProxyType(levels)
        self._descendants: dict[str, tuple[str, ...]] = {}

    def descendants(self, node_id: str) -> tuple[str, ...]:
        """Level descendants of a node in canonical order (given up when it fails unhandled).
        Computed when first needed: listing them for every node up front costs O(n^2)."""
        found = self._descendants.get(node_id)
        if found is None:
            found = self._descendants[node_id] = self.topology.descendants(node_id)
        return found

    @property
    def id(self) -> str:
        return self.workflow.id

    @property
    def content_hash(self) -> str:
        return self.workflow.content_hash

    def __repr__(self) -> str:
        return f"ExecutionPlan({self.id!r}, {len(self.nodes)} nodes)"


def _needs_task(node: Any) -> bool:
    if node.type in _ASYNC_TYPES:
        return True
    retry = getattr(node, "retry", None)
    return (
        isinstance(node, (FailNode, ToolNode, WaitNode))
        and retry is not None
        and (retry.max_attempts > 1)
    )
