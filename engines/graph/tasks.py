"""Node work that spends clock time, run as asyncio tasks: tools (with timeouts, retries and
idempotency), waits, sub-workflows, and any node with a retry policy.

A task never touches the execution's state; it returns a `TaskResult` that the scheduler
applies in `Execution._collect`, so every state change still happens in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import NodeFailure
from engines.graph.breakers import guarded
from engines.graph.handlers import Outcome, fail_failure
from engines.graph.plan import NodePlan
from engines.graph.state import Frame
from engines.model.nodes import FailNode, SubworkflowNode, ToolNode, WaitNode
from engines.result import NodeError, RunStatus
from engines.tools import ToolContext

if TYPE_CHECKING:
    from engines.graph.execution import Execution


class TaskResult:
    __slots__ = ()


class Done(TaskResult):
    __slots__ = ("attempt", "key", "outcome")

    def __init__(self, outcome: Outcome, attempt: int, key: str | None = None) -> None:
        self.outcome = outcome
        self.attempt = attempt
        self.key = key


class Failed(TaskResult):
    __slots__ = ("attempts", "error", "failure")

    def __init__(
        self,
        failure: NodeFailure | None,
        attempts: int,
        error: NodeError | None = None,
    ) -> None:
        self.failure = failure
        self.attempts = attempts
        #: A ready-made error (a sub-workflow's wrapped failure) instead of `failure`.
        self.error = error


class Deduplicated(TaskResult):
    __slots__ = ("key", "output")

    def __init__(self, output: Any, key: str) -> None:
        self.output = output
        self.key = key


class Cancelled(TaskResult):
    """A sub-workflow node whose child run ended cancelled (the run is being cancelled)."""

    __slots__ = ("error",)

    def __init__(self, error: NodeError) -> None:
        self.error = error


class Inline(TaskResult):
    """The node only waited for its test delay; the scheduler runs it inline now."""

    __slots__ = ()


INLINE = Inline()


async def run_task(execution: Execution, frame: Frame, plan: NodePlan) -> TaskResult:
    delay = execution.engine.delay
    if delay is not None:
        seconds = delay(plan.id, frame.path)
        if seconds > 0:
            await execution.engine.clock.sleep(seconds)
    if not plan.needs_task:
        return INLINE
    node = plan.node
    if isinstance(node, ToolNode):
        return await _tool(execution, frame, plan, node)
    if isinstance(node, WaitNode):
        return await _wait(execution, frame, plan, node)
    if isinstance(node, SubworkflowNode):
        return await _subworkflow(execution, frame, plan, node)
    if isinstance(node, FailNode):
        return await _fail(execution, frame, plan, node)
    raise AssertionError(f"no task for node type {plan.type}")  # pragma: no cover


async def _with_retries(
    execution: Execution,
    frame: Frame,
    plan: NodePlan,
    attempt: Callable[[int], Awaitable[Any]],
    key: str | None = None,
) -> TaskResult:
    policy = plan.node.retry
    clock = execution.engine.clock
    number = 1
    while True:
        try:
            return Done(Outcome(await attempt(number)), number, key)
        except NodeFailure as failure:
            if policy is None or not policy.retries(failure.code, failure.recoverable, number):
                return Failed(failure, number)
            delay = policy.delay(number)
            execution.emit(
                "retrying",
                plan.id,
                number,
                frame.path,
                {"code": failure.code, "message": failure.message, "delay": delay},
            )
            await clock.sleep(delay)
            number += 1
            execution.attempts[(frame.path, plan.id)] = number
            execution.emit("started", plan.id, number, frame.path)


async def _timed(execution: Execution, timeout: float | None, work: Awaitable[Any]) -> Any:
    if timeout is None:
        return await work
    try:
        async with execution.engine.clock.timeout(timeout):
            return await work
    except TimeoutError:
        raise failures.timeout(timeout) from None


async def _tool(execution: Execution, frame: Frame, plan: NodePlan, node: ToolNode) -> TaskResult:
    key: str | None = None
    if node.idempotency_key is not None:
        try:
            key = node.idempotency_key.render(frame.scope)
        except NodeFailure as failure:
            execution.emit("started", plan.id, 1, frame.path)
            return Failed(failure, 1)
        hit = execution.deduplicate(node.params.tool, key, frame, plan)
        if hit is not None:
            return hit
    execution.emit("started", plan.id, 1, frame.path)
    try:
        args = node.params.args.render(frame.scope)
    except NodeFailure as failure:
        return Failed(failure, 1)
    tools = execution.engine.tools

    async def attempt(number: int) -> Any:
        ctx = ToolContext(
            clock=execution.engine.clock,
            node=plan.id,
            attempt=number,
            path=frame.path,
            workflow=execution.plan.id,
            idempotency_key=key,
        )
        return await _timed(execution, node.timeout, tools.call(node.params.tool, args, ctx))

    breaker = execution.plan.breakers.get(node.params.tool)
    if breaker is not None:
        attempt = guarded(execution, node.params.tool, breaker, attempt)
    return await _with_retries(execution, frame, plan, attempt, key)


async def _wait(execution: Execution, frame: Frame, plan: NodePlan, node: WaitNode) -> TaskResult:
    execution.emit("started", plan.id, 1, frame.path)
    try:
        seconds = node.params.seconds.render(frame.scope)
    except NodeFailure as failure:
        return Failed(failure, 1)
    clock = execution.engine.clock

    async def attempt(number: int) -> Any:
        await _timed(execution, node.timeout, clock.sleep(seconds))
        return {"seconds": seconds}

    return await _with_retries(execution, frame, plan, attempt)


async def _fail(execution: Execution, frame: Frame, plan: NodePlan, node: FailNode) -> TaskResult:
    execution.emit("started", plan.id, 1, frame.path)
    try:
        failure = fail_failure(node, frame.scope)
    except NodeFailure as error:
        return Failed(error, 1)

    async def attempt(number: int) -> Any:
        raise failure

    return await _with_retries(execution, frame, plan, attempt)


async def _subworkflow(
    execution: Execution, frame: Frame, plan: NodePlan, node: SubworkflowNode
) -> TaskResult:
    execution.emit("started", plan.id, 1, frame.path)
    try:
        inputs = node.params.inputs.render(frame.scope)
    except NodeFailure as failure:
        return Failed(failure, 1)
    if execution.depth + 1 > failures.MAX_SUBWORKFLOW_DEPTH:
        return Failed(failures.subworkflow_depth(node.params.workflow), 1)
    child = execution.child(node.params.workflow, inputs, (*frame.path, (plan.id, 0)))
    result = await child.run()
    if result.status is RunStatus.COMPLETED:
        return Done(Outcome(result.outputs), 1)
    if result.status is RunStatus.CANCELLED or execution.cancelling:
        # Cancelled while the child ran (even one already failing, compensating itself).
        first = result.errors[0] if result.errors else None
        return Cancelled(failures.child_cancelled(plan.id, first, path=frame.path))
    inner = result.errors[0]
    return Failed(None, 1, failures.wrapped(plan.id, inner, path=frame.path))
