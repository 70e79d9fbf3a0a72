"""Mutant `loop_off_by_one` (graph engine): a `for` loop runs `count + 1` iterations
(docs/semantics.md §7.4: `for` runs `count` iterations).

Injected by replacing, in the mutant's own plan copy, each `for` loop node with a copy whose
`count` template renders one more; the validated workflow and the real plan keep theirs.
The `max_iterations` check sees the mutated count too, as it would with the real bug.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

from engines.graph import ExecutionPlan
from engines.model.nodes import LoopNode
from tests.mutants.base import GraphMutant, copy_plan


class OneMore:
    """A `count` template wrapper: MUTATION — renders the count plus one."""

    def __init__(self, template: Any) -> None:
        self.template = template

    def render(self, scope: Any) -> int:
        return self.template.render(scope) + 1  # type: ignore[no-any-return]


def _off_by_one(node: LoopNode) -> LoopNode:
    params = node.params.model_copy(update={"count": OneMore(node.params.count)})
    return node.model_copy(update={"params": params})


def mutate(plan: ExecutionPlan) -> ExecutionPlan:
    nodes = {
        node_id: dataclasses.replace(node, node=_off_by_one(node.node))
        if isinstance(node.node, LoopNode) and node.node.params.mode == "for"
        else node
        for node_id, node in plan.nodes.items()
    }
    return copy_plan(plan, nodes=MappingProxyType(nodes))


engine = GraphMutant("loop_off_by_one", mutate)
