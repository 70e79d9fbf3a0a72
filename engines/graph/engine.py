"""The graph engine: compiles workflows into cached plans and starts executions of them."""

from __future__ import annotations

import copy
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from engines.clock import Clock, RealClock
from engines.entry import WorkflowLike, check_inputs, resolve_workflow
from engines.errors import SetupError
from engines.graph.execution import Execution
from engines.graph.plan import ExecutionPlan
from engines.graph.state import RunState
from engines.model import ValidatedWorkflow, WorkflowRegistry
from engines.result import IterationPath, RunResult
from engines.tools import ToolRegistry, builtin_registry

#: Test hook: seconds to wait on the clock before a node execution starts.
DelayHook = Callable[[str, IterationPath], float]


class GraphEngine:
    """Runs workflows as a DAG with a concurrent ready queue.

    `clock` decides what time is (real by default; tests and fixtures pass a `VirtualClock`),
    `max_concurrency` bounds the tasks running at once, and `delay` is a test hook that waits
    a chosen clock time before each node execution to shuffle the schedule.
    """

    name = "graph"

    def __init__(
        self,
        *,
        tools: ToolRegistry | None = None,
        clock: Clock | None = None,
        env: Mapping[str, str] | None = None,
        max_concurrency: int = 64,
        delay: DelayHook | None = None,
        plan_cache_size: int = 128,
    ) -> None:
        if max_concurrency < 1:
            raise SetupError(f"max_concurrency must be >= 1, not {max_concurrency}")
        self.tools = tools if tools is not None else builtin_registry()
        self.clock = clock if clock is not None else RealClock()
        self.env = dict(env or {})
        self.max_concurrency = max_concurrency
        self.delay = delay
        self._plans: OrderedDict[tuple[str, ...], ExecutionPlan] = OrderedDict()
        self._cache_size = plan_cache_size
        #: Guards the plan cache, which `with_clock` twins in other threads share.
        self._plans_lock = threading.Lock()

    def with_clock(self, clock: Clock) -> GraphEngine:
        """This engine on another clock, sharing its compiled plans (and their cache): a run
        needs a clock of its own, not a compilation of its own."""
        twin = copy.copy(self)
        twin.clock = clock
        return twin

    # ------------------------------------------------------------------ plans

    def plan(
        self, workflow: WorkflowLike, registry: WorkflowRegistry | None = None
    ) -> ExecutionPlan:
        """The cached plan of `workflow` (compiled on first use)."""
        if isinstance(workflow, ValidatedWorkflow) and registry is None:
            key: tuple[str, ...] = (workflow.content_hash, workflow.content_hash)
            plan = self._cached_plan(key)
            if plan is not None:
                return plan
        validated, registry = resolve_workflow(workflow, registry, self.tools, "graph")
        key = (validated.content_hash, *sorted(w.content_hash for w in registry.values()))
        plan = self._cached_plan(key)
        if plan is None:
            # outside the lock: compiling is slow
            plan = ExecutionPlan(validated, registry, self.tools.breakers)
            with self._plans_lock:
                self._plans[key] = plan
                if len(self._plans) > self._cache_size:
                    self._plans.popitem(last=False)
        return plan

    def _cached_plan(self, key: tuple[str, ...]) -> ExecutionPlan | None:
        with self._plans_lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
            return plan

    # ------------------------------------------------------------------ executions

    def start(
        self,
        workflow: WorkflowLike,
        inputs: Mapping[str, Any] | None = None,
        *,
        registry: WorkflowRegistry | None = None,
        execution_id: str | None = None,
        depth: int = 0,
    ) -> Execution:
        """A new execution, not yet run: `await execution.run()` runs its first turn."""
        plan = self.plan(workflow, registry)
        data = check_inputs(inputs)
        state = RunState(inputs=data, vars={}, env=self.env)
        return Execution(
            self, plan, state, execution_id=execution_id or uuid.uuid4().hex, depth=depth
        )

    def restore(
        self,
        workflow: WorkflowLike,
        snapshot: Mapping[str, Any],
        *,
        registry: WorkflowRegistry | None = None,
    ) -> Execution:
        """A paused execution rebuilt from its snapshot and the workflow alone."""
        from engines.graph.snapshot import decode

        return decode(self, self.plan(workflow, registry), snapshot)

    def run(
        self,
        workflow: WorkflowLike,
        inputs: Mapping[str, Any] | None = None,
        *,
        registry: WorkflowRegistry | None = None,
    ) -> RunResult:
        """Run one turn synchronously on this engine's clock."""
        execution = self.start(workflow, inputs, registry=registry)
        return self.clock.run(execution.run)
