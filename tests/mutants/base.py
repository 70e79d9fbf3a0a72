"""What every mutant shares: an `Engine` (harness protocol) over a subclassed real engine.

Why subclasses and not monkeypatching: the harness runs the real engine and the mutant one
after another in one process, in worker threads; a mutation that lives only in the
mutant's own objects (its engine's plans, its sessions) can never leak into the real run.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engines.clock import VirtualClock
from engines.entry import WorkflowLike, check_inputs
from engines.graph import ExecutionPlan, GraphEngine
from engines.graph.driver import run_conversation as graph_conversation
from engines.journey import JourneyEngine
from engines.journey.driver import run_conversation as journey_conversation
from engines.journey.session import Session
from engines.model import WorkflowRegistry
from engines.result import RunResult
from engines.tools import ToolRegistry, builtin_registry

#: Turns the real, shared plan into the mutant's own copy (never changes its argument).
PlanMutation = Callable[[ExecutionPlan], ExecutionPlan]


def copy_plan(plan: ExecutionPlan, **changes: Any) -> ExecutionPlan:
    """A shallow copy of `plan` with some attributes (`nodes`, `levels`) replaced."""
    mutated = copy.copy(plan)
    for name, value in changes.items():
        setattr(mutated, name, value)
    return mutated


class MutantGraphEngine(GraphEngine):
    """The graph engine, running the mutated copy of every plan it compiles (child runs
    included: they are started through this engine too)."""

    def __init__(self, mutation: PlanMutation, name: str, **options: Any) -> None:
        super().__init__(**options)
        self.name = name
        self._mutation = mutation
        #: id(real plan) -> (real plan, mutated plan); the real one is kept so ids stay unique.
        self._mutated: dict[int, tuple[ExecutionPlan, ExecutionPlan]] = {}

    def plan(
        self, workflow: WorkflowLike, registry: WorkflowRegistry | None = None
    ) -> ExecutionPlan:
        real = super().plan(workflow, registry)
        entry = self._mutated.get(id(real))
        if entry is None:
            entry = self._mutated[id(real)] = (real, self._mutation(real))
        return entry[1]


class MutantJourneyEngine(JourneyEngine):
    """The journey engine, whose sessions (child sessions included) are `session_class`."""

    def __init__(self, session_class: type[Session], name: str, **options: Any) -> None:
        super().__init__(**options)
        self.name = name
        self._session_class = session_class

    def start_session(
        self,
        workflow: WorkflowLike,
        inputs: Mapping[str, Any] | None = None,
        *,
        registry: WorkflowRegistry | None = None,
        session_id: str | None = None,
        depth: int = 0,
    ) -> Session:
        # JourneyEngine.start_session, with only the session class changed.
        return self._session_class(
            self,
            self.blueprint(workflow, registry),
            check_inputs(inputs),
            session_id=session_id or uuid.uuid4().hex,
            depth=depth,
        )


class GraphMutant:
    """A harness engine: the graph engine with `mutation` applied to its plans."""

    def __init__(self, name: str, mutation: PlanMutation, env: Mapping[str, str] | None = None):
        self.name = name
        self.mutation = mutation
        self.env = dict(env or {})

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        engine = MutantGraphEngine(
            self.mutation,
            self.name,
            tools=tools or builtin_registry(),
            clock=VirtualClock(),
            env=self.env,
        )
        return graph_conversation(
            engine, registry, dict(inputs), list(conversation), roundtrip=False
        )


class JourneyMutant:
    """A harness engine: the journey engine running sessions of `session_class`."""

    def __init__(
        self, name: str, session_class: type[Session], env: Mapping[str, str] | None = None
    ):
        self.name = name
        self.session_class = session_class
        self.env = dict(env or {})

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult:
        engine = MutantJourneyEngine(
            self.session_class,
            self.name,
            tools=tools or builtin_registry(),
            clock=VirtualClock(),
            env=self.env,
        )
        return journey_conversation(
            engine, registry, dict(inputs), list(conversation), roundtrip=False
        )
