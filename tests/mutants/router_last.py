"""A user engine named `module:attr` (the README's example): the graph engine whose routers
without `all_matching` take the LAST matching route instead of the first (docs/semantics.md
§7.3). Load it as `compat check ... --shadow tests.mutants.router_last:engine`.

Not part of the mutant suite (catalog.yaml has the same bug as `graph_router_last_match`, a
source patch run in a process of its own): this one lives beside the real engine in one
process, so it changes only its own copy of each plan — router nodes get another handler —
and never the shared plans or `handlers.run_router`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from engines.clock import VirtualClock
from engines.entry import WorkflowLike
from engines.graph import ExecutionPlan, GraphEngine
from engines.graph.driver import run_conversation
from engines.graph.handlers import DEFAULT, Outcome, Scope, run_router
from engines.model import WorkflowRegistry
from engines.model.nodes import RouterNode
from engines.result import RunResult
from engines.tools import ToolRegistry, builtin_registry


def run_router_last_match(node: RouterNode, scope: Scope) -> Outcome:
    if node.params.all_matching:
        return run_router(node, scope)
    # MUTATION: routes are tried from the last one backwards, so the last match wins
    # (the contract: in declaration order, the first match wins).
    for route in reversed(node.params.routes):
        if route.when.test(scope):
            return Outcome({"matched": [route.name]}, (route.name,))
    return Outcome({"matched": []}, DEFAULT)


def mutate(plan: ExecutionPlan) -> ExecutionPlan:
    """A shallow copy of `plan` whose router nodes run `run_router_last_match`."""
    nodes = {
        node_id: dataclasses.replace(node, handler=run_router_last_match)
        if node.type == "router"
        else node
        for node_id, node in plan.nodes.items()
    }
    mutated = copy.copy(plan)
    mutated.nodes = MappingProxyType(nodes)
    return mutated


class RouterLastEngine(GraphEngine):
    """The graph engine, running the mutated copy of every plan it compiles (child runs
    included: they are started through this engine too)."""

    name = "router_last_match"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        #: id(real plan) -> (real plan, mutated plan); the real one is kept so ids stay unique.
        self._mutated: dict[int, tuple[ExecutionPlan, ExecutionPlan]] = {}

    def plan(
        self, workflow: WorkflowLike, registry: WorkflowRegistry | None = None
    ) -> ExecutionPlan:
        real = super().plan(workflow, registry)
        entry = self._mutated.get(id(real))
        if entry is None:
            entry = self._mutated[id(real)] = (real, mutate(real))
        return entry[1]


class RouterLast:
    """The harness engine: a fresh `RouterLastEngine` on a virtual clock per run."""

    name = "router_last_match"

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        engine = RouterLastEngine(tools=tools or builtin_registry(), clock=VirtualClock())
        return run_conversation(engine, registry, dict(inputs), list(conversation), roundtrip=False)


engine = RouterLast()
