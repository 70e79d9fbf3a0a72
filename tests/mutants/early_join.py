"""Mutant `early_join` (graph engine): a join — a node with several incoming edges — is
resolved as soon as its FIRST incoming edge resolves (runs if it fired, is skipped as a dead
path if not) instead of waiting for all of them (docs/semantics.md §7.2).

Injected by giving the mutant's own plan copy levels whose incoming-edge counts are at most
1: a frame counts down from those, so the countdown reaches 0 at the first edge. The real
plan's levels are untouched.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from engines.graph import ExecutionPlan
from tests.mutants.base import GraphMutant, copy_plan


def mutate(plan: ExecutionPlan) -> ExecutionPlan:
    levels = {
        container: dataclasses.replace(
            level,
            # MUTATION: wait for one incoming edge at most (the contract: for all of them).
            incoming=MappingProxyType({n: min(c, 1) for n, c in level.incoming.items()}),
        )
        for container, level in plan.levels.items()
    }
    return copy_plan(plan, levels=MappingProxyType(levels))


engine = GraphMutant("early_join", mutate)
