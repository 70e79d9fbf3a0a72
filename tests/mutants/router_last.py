"""Mutant `router_last_match` (graph engine): a router without `all_matching` takes the LAST
matching route instead of the first (docs/semantics.md §7.3, `router`).

Injected by giving the router nodes of the mutant's own plan copy another inline handler;
the real `handlers.run_router` and the shared plans are untouched.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from engines.graph import ExecutionPlan
from engines.graph.handlers import DEFAULT, Outcome, Scope, run_router
from engines.model.nodes import RouterNode
from tests.mutants.base import GraphMutant, copy_plan


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
    nodes = {
        node_id: dataclasses.replace(node, handler=run_router_last_match)
        if node.type == "router"
        else node
        for node_id, node in plan.nodes.items()
    }
    return copy_plan(plan, nodes=MappingProxyType(nodes))


engine = GraphMutant("router_last_match", mutate)
