"""A compiled journey with the lookup tables its sessions read, built once per workflow."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from engines.journey.compiler import compile_journey
from engines.journey.model import Journey, Role
from engines.journey.quick import ACTIONS, Action
from engines.model import ValidatedWorkflow, WorkflowRegistry
from engines.model.tools import CircuitBreaker, effective_breakers


class Blueprint:
    """Everything about a workflow's journey that no session changes."""

    def __init__(
        self,
        validated: ValidatedWorkflow,
        registry: WorkflowRegistry,
        breakers: Mapping[str, CircuitBreaker] | None = None,
    ) -> None:
        self.validated = validated
        #: Circuit breakers of this journey's tools (configuration's, then the workflow's).
        self.breakers: dict[str, CircuitBreaker] = effective_breakers(
            breakers or {}, validated.workflow.tools
        )
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
        self._descendants: dict[str, tuple[str, ...]] = {}
        self.has_error_port = MappingProxyType(
            {n: any(h == "error" for h, _ in out[n]) for n in out}
        )
        self.position = MappingProxyType(dict(self.topology.index))
        #: The top level's end nodes in journey order: whose outputs merge into the run's.
        nodes = self.workflow.node_map
        top = self.journey.levels.get(None)
        self.top_ends = tuple(
            n for n in (top.order if top is not None else ()) if nodes[n].type == "end"
        )
        #: Nodes whose state spends clock time or may repeat (run with timeouts and retries).
        self.timed = frozenset(
            n.id
            for n in self.workflow.nodes
            if n.type in ("tool", "wait", "subworkflow")
            or (n.retry is not None and n.retry.max_attempts > 1)
        )
        #: Nodes whose state runs to its outcome at once (no clock time, no question, no
        #: container, nothing to compensate), with their type's action: the walk calls them
        #: without a coroutine and without checking their state's role or `compensate`
        #: (checked here). A plain dict, read once per node by the walk (a mapping proxy's
        #: `get` costs more). Any other node runs by `actions.run`.
        states = self.journey.states
        self.quick: dict[str, Action] = {
            n.id: ACTIONS[n.type]
            for n in self.workflow.nodes
            if n.id not in self.timed
            and n.type in ACTIONS
            and n.compensate is None
            and states[n.id].role is Role.NODE
        }
        self.exits = MappingProxyType({c: level.exit for c, level in self.topology.levels.items()})
        #: Per state, the tokens whose transition goes on to the next position. A plain
        #: dict, as `quick`: the walk reads it once per node.
        self.steps: dict[str, dict[str, bool]] = _steps(self.journey)

    def descendants(self, node_id: str) -> tuple[str, ...]:
        """Level descendants of a node (given up when it fails unhandled), computed when
        first needed: listing them for every node up front costs O(n^2)."""
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


#: Outcomes of most states, whose step an unconditional transition decides.
COMMON_TOKENS = ("completed", "failed")


def _steps(journey: Journey) -> dict[str, dict[str, bool]]:
    """For each state, the outcome tokens whose transition leads on to the next position of
    its level, passing over nothing — the walk's usual step, read here instead of through
    `State.target` — each with whether the next position is entered by its node state
    itself (no guard). Other tokens take `State.target`, which gives the same answer."""
    steps: dict[str, dict[str, bool]] = {}
    for state in journey.states.values():
        onward: dict[str, bool] = {}
        if state.position >= 0:
            after = journey.levels[state.level].after
            tokens = {t.token for t in state.transitions if t.token is not None}
            unconditional = any(t.token is None for t in state.transitions)
            for token in (*sorted(tokens), *(COMMON_TOKENS if unconditional else ())):
                target = state.target(token)
                following = journey.states.get(target)
                if (
                    following is not None
                    and target != after
                    and following.level == state.level
                    and following.position == state.position + 1
                ):
                    onward[token] = following.role is Role.NODE
        steps[state.id] = onward
    return steps
