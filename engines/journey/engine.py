"""The journey engine: compiles workflows into journeys and runs them as conversations."""

from __future__ import annotations

import copy
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from engines.clock import Clock, RealClock
from engines.entry import WorkflowLike, check_inputs, resolve_workflow
from engines.journey.blueprint import Blueprint
from engines.journey.model import Journey
from engines.journey.session import JourneyResult, Session
from engines.model import ValidatedWorkflow, WorkflowRegistry
from engines.tools import ToolRegistry, builtin_registry


class JourneyEngine:
    """Runs workflows as Parlant-style journeys, one state at a time."""

    name = "journey"

    def __init__(
        self,
        *,
        tools: ToolRegistry | None = None,
        clock: Clock | None = None,
        env: Mapping[str, str] | None = None,
        cache_size: int = 128,
    ) -> None:
        self.tools = tools if tools is not None else builtin_registry()
        self.clock = clock if clock is not None else RealClock()
        self.env = dict(env or {})
        self._blueprints: OrderedDict[tuple[str, ...], Blueprint] = OrderedDict()
        self._cache_size = cache_size
        #: Guards the blueprint cache, which `with_clock` twins in other threads share.
        self._blueprints_lock = threading.Lock()

    def with_clock(self, clock: Clock) -> JourneyEngine:
        """This engine on another clock, sharing its compiled journeys (and their cache): a
        session needs a clock of its own, not a compilation of its own."""
        twin = copy.copy(self)
        twin.clock = clock
        return twin

    def blueprint(
        self, workflow: WorkflowLike, registry: WorkflowRegistry | None = None
    ) -> Blueprint:
        """The cached compiled journey of `workflow` (compiled on first use)."""
        if isinstance(workflow, ValidatedWorkflow) and registry is None:
            alone = (workflow.content_hash, workflow.content_hash)
            cached = self._cached(alone)
            if cached is not None:
                return cached
        validated, registry = resolve_workflow(workflow, registry, self.tools, "journey")
        key = (validated.content_hash, *sorted(w.content_hash for w in registry.values()))
        blueprint = self._cached(key)
        if blueprint is None:
            # outside the lock: compiling is slow
            blueprint = Blueprint(validated, registry, self.tools.breakers)
            with self._blueprints_lock:
                self._blueprints[key] = blueprint
                if len(self._blueprints) > self._cache_size:
                    self._blueprints.popitem(last=False)
        return blueprint

    def _cached(self, key: tuple[str, ...]) -> Blueprint | None:
        with self._blueprints_lock:
            blueprint = self._blueprints.get(key)
            if blueprint is not None:
                self._blueprints.move_to_end(key)
            return blueprint

    def compile(self, workflow: WorkflowLike) -> Journey:
        """The journey a workflow compiles to."""
        return self.blueprint(workflow).journey

    def start_session(
        self,
        workflow: WorkflowLike,
        inputs: Mapping[str, Any] | None = None,
        *,
        registry: WorkflowRegistry | None = None,
        session_id: str | None = None,
        depth: int = 0,
    ) -> Session:
        """A new session, not started yet: `await session.start()` runs its first turn."""
        return Session(
            self,
            self.blueprint(workflow, registry),
            check_inputs(inputs),
            session_id=session_id or uuid.uuid4().hex,
            depth=depth,
        )

    def load_session(
        self,
        workflow: WorkflowLike,
        data: Mapping[str, Any],
        *,
        registry: WorkflowRegistry | None = None,
    ) -> Session:
        """A paused session rebuilt from its JSON form and the workflow alone."""
        from engines.journey.persist import load

        return load(self, self.blueprint(workflow, registry), data)

    def run(
        self,
        workflow: WorkflowLike,
        inputs: Mapping[str, Any] | None = None,
        *,
        registry: WorkflowRegistry | None = None,
    ) -> JourneyResult:
        """Run the first turn synchronously on this engine's clock."""
        session = self.start_session(workflow, inputs, registry=registry)
        return self.clock.run(session.start)
