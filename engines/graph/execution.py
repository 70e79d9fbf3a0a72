"""One execution of a workflow by the graph engine: a ready queue over frames, driven by an
explicit `step()`; `run()` and `resume()` are thin loops over it.

A step starts everything that is ready (inline nodes run on the spot, nodes that spend clock
time become tasks, bounded by the engine's concurrency), then waits for one task to finish
and applies its result. When a step finds nothing ready and nothing running, the turn has
reached quiescence and the run completes, fails or pauses (docs/semantics.md §7.12).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import EngineStateError, ExpressionError, InputInvalid, NodeFailure
from engines.expressions import as_json
from engines.graph import containers, finish, packing
from engines.graph.events import Event, EventStream
from engines.graph.handlers import ERROR, Effect, Outcome
from engines.graph.plan import ExecutionPlan, NodePlan
from engines.graph.state import (
    COMPLETED,
    CompensationRecord,
    Frame,
    IdempotencyRecord,
    LoopRun,
    Pending,
    RunState,
)
from engines.graph.tasks import (
    Cancelled,
    Deduplicated,
    Done,
    Failed,
    Inline,
    TaskResult,
    run_task,
)
from engines.model.nodes import ToolNode
from engines.result import VARIABLES_NODE, IterationPath, NodeError, RunResult
from engines.result import RunStatus as Status

if TYPE_CHECKING:
    from engines.graph.engine import GraphEngine

NEW, RUNNING = "new", "running"


class Execution:
    """A run in progress (or paused). Create it with `GraphEngine.start` or `.restore`."""

    def __init__(
        self,
        engine: GraphEngine,
        plan: ExecutionPlan,
        state: RunState,
        *,
        execution_id: str,
        depth: int = 0,
        stream: EventStream | None = None,
        elapsed: float = 0.0,
    ) -> None:
        self.engine = engine
        self.plan = plan
        self.state = state
        self.id = execution_id
        self.depth = depth
        self.stream = stream or EventStream()
        self.status: str = NEW
        self._elapsed = elapsed
        self._t0 = 0.0
        self._wall = 0.0
        self._ready: deque[tuple[Frame, NodePlan]] = deque()
        self._blocked: list[tuple[tuple[int, ...], int, Frame, NodePlan]] = []
        self._counter = itertools.count()
        self._tasks: dict[asyncio.Task[TaskResult], tuple[Frame, NodePlan]] = {}
        self._done: asyncio.Queue[asyncio.Task[TaskResult]] | None = None
        self._cancel_requested = False
        #: Every node waits for the engine's `delay` (a test hook) as a task.
        self._delayed = engine.delay is not None
        #: Clock time of the synchronous burst in progress (time cannot pass inside one).
        self._burst_time: float | None = None
        #: Attempt in progress of each retried node execution (a cancel fails that attempt).
        self.attempts: dict[tuple[IterationPath, str], int] = {}
        #: The child run each sub-workflow task is running (a cancel cancels the child).
        self.children: dict[asyncio.Task[Any], Execution] = {}
        #: While paused: the bulk of the state, packed (`engines.graph.packing`).
        self.packed: packing.Packed | None = None

    # ------------------------------------------------------------------ public API

    async def run(self) -> RunResult:
        """Run the first turn: until the run completes, fails or pauses."""
        if self.status != NEW:
            raise EngineStateError(f"execution {self.id!r} already ran (status {self.status})")
        self._begin_turn("execution.started")
        try:
            variables = {
                n: t.render(self.state.inputs_scope)
                for n, t in self.plan.workflow.variables.items()
            }
        except NodeFailure as failure:
            self.state.extra_errors.append(failures.node_error(VARIABLES_NODE, failure))
            return await finish.end_turn(self, force=Status.FAILED)
        self.state.write_vars(variables)
        top = Frame.open_top(self.plan.levels[None], self.state.scope())
        self.state.top = top
        self._enqueue(top, self.plan.nodes[top.level.start])
        return await self._turn()

    async def resume(self, payload: Any, *, node: str | None = None) -> RunResult:
        """Answer the input the run is paused at with `payload` and run the next turn."""
        if self.status != Status.PAUSED:
            raise EngineStateError(
                f"execution {self.id!r} is {self.status}, not paused: nothing to resume"
            )
        pending = self.pause_point()
        if node is not None and node != pending.node.id:
            raise EngineStateError(
                f"execution {self.id!r} waits for input node {pending.node.id!r}, not {node!r}"
            )
        self._begin_turn("execution.resumed")
        self.state.pending.remove(pending)
        pending.frame.waiting.discard(pending.node.id)
        self._burst_time = self.now()
        try:
            value = _payload(payload, pending.node)
        except NodeFailure as failure:
            self._node_failed(pending.frame, pending.node, failure, 1)
        else:
            self._node_completed(pending.frame, pending.node, Outcome(value), 1)
        finally:
            self._burst_time = None
        return await self._turn()

    def cancel(self) -> None:
        """Stop a running execution: no node starts any more, running ones are cancelled —
        a sub-workflow's child run by the same rules, so it ends and compensates itself
        (docs/semantics.md §7.11)."""
        if self.status != RUNNING:
            raise EngineStateError(f"execution {self.id!r} is {self.status}, not running")
        if self._cancel_requested:
            return
        self._cancel_requested = True
        for task in self._tasks:
            child = self.children.get(task)
            if child is not None and child.status == RUNNING:
                child.cancel()
            else:
                task.cancel()

    async def cancel_paused(self) -> RunResult:
        """End a paused execution as cancelled: its pending inputs are abandoned and its
        completed work compensated (docs/semantics.md §7.11)."""
        if self.status != Status.PAUSED:
            raise EngineStateError(
                f"execution {self.id!r} is {self.status}, not paused: use cancel() while it runs"
            )
        self._begin_turn("execution.resumed")
        self._cancel_requested = True
        return await finish.end_turn(self)

    @property
    def cancelling(self) -> bool:
        """A cancel was requested (docs/semantics.md §7.11)."""
        return self._cancel_requested

    def snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot of a paused execution (docs: engines/graph/snapshot)."""
        from engines.graph.snapshot import encode

        if self.status != Status.PAUSED:
            raise EngineStateError(
                f"execution {self.id!r} is {self.status}: only a paused execution has a snapshot"
            )
        packing.unpack(self)  # for good: the snapshot shares the state's containers
        return encode(self)

    def subscribe(self, callback: Any, *, models: bool = True) -> Any:
        """Call `callback(event)` for every later event (node events as `TraceEvent`s, or
        lean `NodeEvent`s with `models=False`); returns an unsubscribe function."""
        return self.stream.subscribe(callback, models=models)

    def events(self, *, models: bool = True) -> Any:
        """An async iterator over the events of the current or next turn (empty once the
        execution has ended: there is no next turn)."""
        ended = self.status in (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
        return self.stream.iterate(closed=ended, models=models)

    def pause_point(self) -> Pending:
        return min(self.state.pending, key=lambda p: p.order_key)

    # ------------------------------------------------------------------ the step function

    async def step(self) -> bool:
        """Start what is ready, then apply one finished task. False at quiescence."""
        self._drain()
        if not self._tasks:
            return False
        assert self._done is not None
        task = await self._done.get()
        self._burst_time = self.now()
        try:
            self._collect(task)
            while not self._done.empty():
                self._collect(self._done.get_nowait())
        finally:
            self._burst_time = None
        return True

    async def _turn(self) -> RunResult:
        self._done = asyncio.Queue()
        try:
            while await self.step():
                pass
        finally:
            for task in list(self._tasks):
                task.cancel()
        result = await finish.end_turn(self)
        self._done = None  # the next turn makes its own; a paused run need not keep it
        return result

    def _begin_turn(self, kind: str) -> None:
        packing.unpack(self)
        self.status = RUNNING
        self._wall = time.perf_counter()
        self._t0 = self.engine.clock.now() - self._elapsed
        self.emit(kind, None, 0, ())

    # ------------------------------------------------------------------ events

    def now(self) -> float:
        if self._burst_time is not None:
            return self._burst_time
        return self.engine.clock.now() - self._t0

    def emit(
        self,
        kind: str,
        node: str | None,
        attempt: int,
        path: IterationPath,
        detail: dict[str, Any] | None = None,
    ) -> Event:
        return self.stream.emit(kind, node, attempt, path, self.now(), detail)

    # ------------------------------------------------------------------ scheduling

    def _enqueue(self, frame: Frame, plan: NodePlan) -> None:
        if plan.needs_task or self._delayed:
            key = frame.order_key(plan)
            heapq.heappush(self._blocked, (key, next(self._counter), frame, plan))
        else:
            self._ready.append((frame, plan))

    def _drain(self) -> None:
        if self._cancel_requested:
            return
        ready, blocked = self._ready, self._blocked
        limit = self.engine.max_concurrency
        self._burst_time = self.now()
        try:
            while ready or (blocked and len(self._tasks) < limit):
                if ready:
                    self._run_ready()
                if self._cancel_requested:
                    return
                while blocked and len(self._tasks) < limit:
                    _, _, frame, plan = heapq.heappop(blocked)
                    task = asyncio.ensure_future(run_task(self, frame, plan))
                    self._tasks[task] = (frame, plan)
                    assert self._done is not None
                    task.add_done_callback(self._done.put_nowait)
        finally:
            self._burst_time = None

    def _run_ready(self) -> None:
        """Run the ready nodes, and the nodes they make ready, until none is left or a cancel
        is requested: `_run_inline` then `_node_completed`, fused for the usual node (an
        inline handler that succeeds, nothing to compensate) — the engine's hot loop, where
        each call saved is a few percent of a node's cost."""
        ready, stream = self._ready, self.stream
        events, nodes, state = stream.events, self.plan.nodes, self.state
        callbacks, queues = stream._callbacks, stream._queues
        now, delayed = self._burst_time, self._delayed
        while ready and not self._cancel_requested:
            frame, plan = ready.popleft()
            handler = plan.handler
            if handler is None or plan.compensates or callbacks or queues:
                self._run_inline(frame, plan)
                continue
            node_id, path = plan.id, frame.path
            try:
                output, handles, writes = handler(plan.node, frame.scope)
            except NodeFailure as failure:
                stream.node_started(node_id, path, now)  # type: ignore[arg-type]
                self._node_failed(frame, plan, failure, 1)
                continue
            if writes:
                state.write_vars(writes)
            frame.view[node_id] = {"output": output, "error": None, "status": COMPLETED}
            frame.open -= 1
            # Its two events, recorded as a compact pair (engines.trace): built when read.
            events.append((node_id, path, now))
            events.append(None)
            remaining, fired = frame.remaining, frame.fired
            dead: list[str] | None = None
            for handle, target in plan.out:
                if handle in handles:
                    fired[target] += 1
                left = remaining[target] - 1
                remaining[target] = left
                if left == 0:
                    if fired[target]:
                        following = nodes[target]
                        if following.needs_task or delayed:
                            self._enqueue(frame, following)
                        else:
                            ready.append((frame, following))
                    elif dead is None:
                        dead = [target]
                    else:
                        dead.append(target)
            if dead is not None:
                self._skip_dead(frame, dead)
            if frame.open == 0 and frame.owner is not None:
                self._check_frame(frame)

    def _run_inline(self, frame: Frame, plan: NodePlan) -> None:
        handler = plan.handler
        if handler is None:
            if plan.type == "input":
                self.emit("started", plan.id, 1, frame.path)
                self._open_input(frame, plan)
            else:
                containers.open_container(self, frame, plan)
            return
        self.stream.node_started(plan.id, frame.path, self._burst_time)  # type: ignore[arg-type]
        try:
            outcome = handler(plan.node, frame.scope)
        except NodeFailure as failure:
            self._node_failed(frame, plan, failure, 1)
            return
        self._node_completed(frame, plan, outcome, 1)

    def _open_input(self, frame: Frame, plan: NodePlan) -> None:
        try:
            prompt = plan.node.params.prompt.render(frame.scope)  # type: ignore[attr-defined]
        except NodeFailure as failure:
            self._node_failed(frame, plan, failure, 1)
            return
        frame.waiting.add(plan.id)
        self.state.pending.append(Pending(frame, plan, prompt))

    def _collect(self, task: asyncio.Task[TaskResult]) -> None:
        frame, plan = self._tasks.pop(task)
        attempt = self.attempts.pop((frame.path, plan.id), 1)
        self.children.pop(task, None)
        if task.cancelled():
            error = failures.node_error(
                plan.id, failures.cancelled(), attempts=attempt, path=frame.path
            )
            self._cancelled(frame, plan, error)
            return
        result = task.result()
        if isinstance(result, Inline):
            self._run_inline(frame, plan)
        elif isinstance(result, Done):
            if result.key is not None and isinstance(plan.node, ToolNode):
                self.state.record_idempotent(
                    plan.node.params.tool,
                    result.key,
                    IdempotencyRecord(
                        frame.order_key(plan), plan.id, frame.path, result.outcome.output
                    ),
                )
            self._node_completed(frame, plan, result.outcome, result.attempt)
        elif isinstance(result, Cancelled):
            self._cancelled(frame, plan, result.error)
        elif isinstance(result, Deduplicated):
            frame.complete(plan.id, result.output)
            self.emit("deduplicated", plan.id, 0, frame.path, {"key": result.key})
            self._propagate(frame, plan, ("out",))
            self._check_frame(frame)
        elif isinstance(result, Failed):
            if result.error is not None:
                self._fail_with(frame, plan, result.error)
            else:
                assert result.failure is not None
                self._node_failed(frame, plan, result.failure, result.attempts)

    # ------------------------------------------------------------------ resolution

    def _cancelled(self, frame: Frame, plan: NodePlan, error: NodeError) -> None:
        """An attempt abandoned by a cancel: a run error, never routed (§7.11)."""
        self.state.cancelled.append((frame.order_key(plan), error))
        self.emit(
            "failed",
            plan.id,
            error.attempts,
            frame.path,
            {"code": error.code, "message": error.message, "handled": False},
        )

    def _node_completed(self, frame: Frame, plan: NodePlan, outcome: Effect, attempt: int) -> None:
        output, handles, writes = outcome
        if writes:
            self.state.write_vars(writes)
        frame.complete(plan.id, output)
        self.stream.node_completed(plan.id, attempt, frame.path, self._burst_time)  # type: ignore[arg-type]
        if plan.compensates:
            self._record_compensation(frame, plan, attempt)
        self._propagate(frame, plan, handles)
        if frame.open == 0 and frame.owner is not None:
            self._check_frame(frame)

    def _node_failed(
        self, frame: Frame, plan: NodePlan, failure: NodeFailure, attempts: int
    ) -> None:
        error = failures.node_error(plan.id, failure, attempts=attempts, path=frame.path)
        self._fail_with(frame, plan, error)

    def _fail_with(self, frame: Frame, plan: NodePlan, error: NodeError) -> None:
        handled = plan.has_error_edge
        self.emit(
            "failed",
            plan.id,
            error.attempts,
            frame.path,
            {"code": error.code, "message": error.message, "handled": handled},
        )
        if handled:
            frame.route_failure(plan.id, error)
            self._propagate(frame, plan, ERROR)
        else:
            frame.fail_unhandled(plan.id, error)
            for node_id in self.plan.descendants(plan.id):
                if not frame.is_resolved(node_id):
                    frame.skip(node_id)
                    self.emit("skipped", node_id, 0, frame.path, {"reason": "upstream_failed"})
        self._check_frame(frame)

    def _propagate(self, frame: Frame, plan: NodePlan, handles: tuple[str, ...]) -> None:
        remaining, fired = frame.remaining, frame.fired
        dead: list[str] | None = None
        for handle, target in plan.out:
            if handle in handles:
                fired[target] += 1
            left = remaining[target] - 1
            remaining[target] = left
            if left == 0:
                if fired[target]:
                    following = self.plan.nodes[target]
                    if following.needs_task or self._delayed:
                        self._enqueue(frame, following)
                    else:
                        self._ready.append((frame, following))
                elif dead is None:
                    dead = [target]
                else:
                    dead.append(target)
        if dead is not None:
            self._skip_dead(frame, dead)

    def _skip_dead(self, frame: Frame, dead: list[str]) -> None:
        """Skip nodes no path can reach any more, and what only they lead to (§7.3)."""
        nodes = self.plan.nodes
        remaining, fired = frame.remaining, frame.fired
        while dead:
            node_id = dead.pop()
            if frame.is_resolved(node_id):
                continue
            frame.skip(node_id)
            self.emit("skipped", node_id, 0, frame.path, {"reason": "dead_path"})
            for _, target in nodes[node_id].out:
                left = remaining[target] - 1
                remaining[target] = left
                if left == 0:
                    if fired[target]:
                        self._enqueue(frame, nodes[target])
                    else:
                        dead.append(target)

    def _check_frame(self, frame: Frame) -> None:
        if frame.open == 0 and frame.owner is not None:
            owner = frame.owner
            if isinstance(owner, LoopRun):
                containers.iteration_done(self, owner, frame)
            else:
                containers.branch_done(self, owner, frame)

    # ------------------------------------------------------------------ run-level records

    def _record_compensation(self, frame: Frame, plan: NodePlan, attempt: int) -> None:
        compensate = plan.node.compensate
        assert compensate is not None
        args: dict[str, Any] | None = None
        problem: str | None = None
        try:
            args = compensate.args.render(frame.scope)
        except NodeFailure as failure:
            problem = failure.message
        self.state.record_compensation(
            CompensationRecord(
                frame.order_key(plan), plan.id, frame.path, attempt, compensate.tool, args, problem
            )
        )

    def deduplicate(self, tool: str, key: str, frame: Frame, plan: NodePlan) -> Deduplicated | None:
        """The recorded output this execution reuses, if an execution that happens before it
        completed the same (tool, key) (docs/semantics.md §7.9)."""
        records = self.state.idempotency.get((tool, key))
        if not records:
            return None
        me = (plan.id, frame.path)
        before = [r for r in records if self.plan.topology.happens_before((r.node, r.path), me)]
        if not before:
            return None
        return Deduplicated(min(before, key=lambda r: r.order_key).output, key)

    def child(self, workflow_id: str, inputs: dict[str, Any], prefix: IterationPath) -> Execution:
        """A child run for a sub-workflow node; its node events join this stream, prefixed."""
        child = self.engine.start(
            self.plan.registry[workflow_id],
            inputs,
            registry=self.plan.registry,
            depth=self.depth + 1,
        )
        child._elapsed = self.now()
        task = asyncio.current_task()
        if task is not None:
            self.children[task] = child

        def forward(event: Event) -> None:
            if event.node is not None:
                detail = event.detail
                self.emit(
                    event.kind, event.node, event.attempt, (*prefix, *event.path), detail or None
                )

        child.subscribe(forward, models=False)
        return child


def _payload(payload: Any, plan: NodePlan) -> Any:
    try:
        value = as_json(payload)
    except ExpressionError as exc:
        raise InputInvalid(f"payload is not JSON data: {exc.message}") from None
    schema = plan.node.params.schema_  # type: ignore[attr-defined]
    if schema is not None:
        schema.check(value)
    return value
