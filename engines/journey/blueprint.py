"""A compiled journey with the lookup tables its sessions read, built once per workflow."""

from __future__ import annotations

from types import MappingProxyType

from engines.journey.compiler import compile_journey
from engines.journey.model import Journey
from engines.model import ValidatedWorkflow, WorkflowRegistry


class Blueprint:
    """Everything about a workflow's journey that no session changes."""

    def __init__(self, validated: ValidatedWorkflow, registry: WorkflowRegistry) -> None:
        self.validated = validated
        self.registry = registry
        self.workflow = validated.workflow
        self.topology = validated.topology
        self.journey: Journey = compile_journey(validated)
        out: dict[str, tuple[tuple[str, str], ...]] = {}
        incoming: dict[str | None, dict[str, int]] = {}
        for container, level in self.topology.levels.items():
            incoming[container] = {n: len(level.incoming[n]) for n in level.nodes}
            for node in level.nodes:
                out[node] = tuple((e.handle, e.target) for e in level.outgoing[node])
        self.out = MappingProxyType(out)
        self.incoming = MappingProxyType(incoming)
        self.descendants = MappingProxyType(
            {n: self.topology.descendants(n) for n in self.topology.iter_nodes()}
        )
        self.has_error_port = MappingProxyType(
            {n: any(h == "error" for h, _ in out[n]) for n in out}
        )
        self.position = MappingProxyType(dict(self.topology.index))
        self.exits = MappingProxyType({c: level.exit for c, level in self.topology.levels.items()})

    @property
    def id(self) -> str:
        return self.workflow.id

    @property
    def content_hash(self) -> str:
        return self.workflow.content_hash
