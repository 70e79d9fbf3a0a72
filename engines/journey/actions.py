"""What the journey's states do: tool states call tools (the workflow's, or internal ones for
`set`, `transform`, `wait`, `fail` and sub-journeys), fork states evaluate their routes, and
the end's chat state states the outputs.

A retry is a self-transition of the tool state: the attempt count lives in the journey
variables while the state repeats, and the backoff is spent on the session's clock. The
awaits of an attempt and of a backoff are where a cancel lands (`engines.journey.cancel`).
"""

from __future__ import annotations

from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import NodeFailure
from engines.journey.breaker import protect
from engines.journey.cancel import fail_attempt, fail_child
from engines.journey.model import State
from engines.journey.quick import ACTIONS, fail_failure, run_quick
from engines.journey.settling import complete, fail
from engines.journey.state import Record, Undo, Walk
from engines.model.nodes import (
    FailNode,
    NodeBase,
    SubworkflowNode,
    ToolNode,
    WaitNode,
)
from engines.result import RunStatus
from engines.tools import ToolContext

if TYPE_CHECKING:
    from engines.journey.session import Session


async def run(session: Session, frame: Walk, state: State, node: NodeBase) -> str:
    """Run the node state `state` and return its outcome token."""
    if node.id in session.timed:
        return await _timed_node(session, frame, state, node)
    return run_quick(session, frame, node, ACTIONS[node.type], session.now())


async def _timed_node(session: Session, frame: Walk, state: State, node: NodeBase) -> str:
    """Nodes that spend clock time or retry."""
    scope = frame.scope
    key: str | None = None
    if isinstance(node, ToolNode) and node.idempotency_key is not None:
        try:
            key = node.idempotency_key.render(scope)
        except NodeFailure as failure:
            session.emit("started", node.id, 1, frame.path)
            return fail(
                session, frame, node.id, failures.node_error(node.id, failure, path=frame.path)
            )
        reused = _reuse(session, frame, node, key)
        if reused is not None:
            frame.settle_done(node.id, reused.output)
            session.emit("deduplicated", node.id, 0, frame.path, {"key": key})
            _open(session, frame, node.id)
            return "completed"
    session.emit("started", node.id, 1, frame.path)
    try:
        attempt = _attempt_for(session, frame, node, scope, key)
    except NodeFailure as failure:
        return fail(session, frame, node.id, failures.node_error(node.id, failure, path=frame.path))
    if isinstance(node, ToolNode) and node.params.tool in session.blueprint.breakers:
        tool = node.params.tool
        attempt = protect(session, tool, session.blueprint.breakers[tool], attempt)
    if isinstance(node, SubworkflowNode):
        return await _subjourney(session, frame, node, scope)
    number = 1
    policy = node.retry
    counter = f"attempt:{node.id}"
    while True:
        try:
            output = await attempt(number)
        except NodeFailure as failure:
            if session.cancelling:  # the tool turned the cancel into a failure of its own
                fail_attempt(session, frame, node.id, number)
            if policy is None or not policy.retries(failure.code, failure.recoverable, number):
                session.journey_vars.pop(counter, None)
                return fail(
                    session,
                    frame,
                    node.id,
                    failures.node_error(node.id, failure, attempts=number, path=frame.path),
                )
            delay = policy.delay(number)
            session.emit(
                "retrying",
                node.id,
                number,
                frame.path,
                {"code": failure.code, "message": failure.message, "delay": delay},
            )
            session.visit(state, "retry", frame.path)
            try:
                await session.clock.sleep(delay)
            except CancelledError:
                if not session.cancelling:
                    raise
                fail_attempt(session, frame, node.id, number)  # the backoff is attempt n's
            number += 1
            session.journey_vars[counter] = number
            session.emit("started", node.id, number, frame.path)
            continue
        except CancelledError:
            if not session.cancelling:
                raise
            fail_attempt(session, frame, node.id, number)
        if session.cancelling:  # the tool swallowed the cancel and returned
            fail_attempt(session, frame, node.id, number)
        session.journey_vars.pop(counter, None)
        if key is not None and isinstance(node, ToolNode):
            session.records.setdefault((node.params.tool, key), []).append(
                Record((*frame.key, session.position[node.id]), node.id, frame.path, output)
            )
        return complete(session, frame, node.id, output, number)


def _attempt_for(
    session: Session, frame: Walk, node: NodeBase, scope: Any, key: str | None
) -> Callable[[int], Awaitable[Any]]:
    """Render what the node needs (once, in attempt 1) and return one attempt of its work."""
    clock = session.clock
    timeout = node.timeout
    if isinstance(node, ToolNode):
        args = node.params.args.render(scope)

        async def call(number: int) -> Any:
            ctx = ToolContext(
                clock=clock,
                node=node.id,
                attempt=number,
                path=frame.path,
                workflow=session.workflow.id,
                idempotency_key=key,
            )
            return await _within(session, timeout, session.tools.call(node.params.tool, args, ctx))

        return call
    if isinstance(node, WaitNode):
        seconds = node.params.seconds.render(scope)

        async def wait(number: int) -> Any:
            await _within(session, timeout, clock.sleep(seconds))
            return {"seconds": seconds}

        return wait
    if isinstance(node, FailNode):
        failure = fail_failure(node, scope)

        async def raise_it(number: int) -> Any:
            raise failure

        return raise_it

    async def nothing(number: int) -> Any:  # sub-workflows run in `_subjourney`
        return None

    return nothing


async def _within(session: Session, timeout: float | None, work: Awaitable[Any]) -> Any:
    if timeout is None:
        return await work
    try:
        async with session.clock.timeout(timeout):
            return await work
    except TimeoutError:
        raise failures.timeout(timeout) from None


def _reuse(session: Session, frame: Walk, node: ToolNode, key: str) -> Record | None:
    records = session.records.get((node.params.tool, key))
    if not records:
        return None
    here = (node.id, frame.path)
    before = [r for r in records if session.topology.happens_before((r.node, r.path), here)]
    return min(before, key=lambda r: r.order_key) if before else None


def _open(session: Session, frame: Walk, node_id: str) -> None:
    for handle, target in session.plan_out[node_id]:
        frame.path_arrives(target, handle == "out")


async def _subjourney(session: Session, frame: Walk, node: SubworkflowNode, scope: Any) -> str:
    try:
        inputs = node.params.inputs.render(scope)
        if session.depth + 1 > failures.MAX_SUBWORKFLOW_DEPTH:
            raise failures.subworkflow_depth(node.params.workflow)
    except NodeFailure as failure:
        return fail(session, frame, node.id, failures.node_error(node.id, failure, path=frame.path))
    child = session.subjourney(node.params.workflow, inputs, (*frame.path, (node.id, 0)))
    session._child = child
    result = await child.start()
    session._child = None
    if session.cancelling:  # the child ended cancelled (or was ending when the cancel came)
        fail_child(session, frame, node.id, result.errors[0] if result.errors else None)
    if result.status is RunStatus.COMPLETED:
        return complete(session, frame, node.id, result.outputs, 1)
    return fail(
        session, frame, node.id, failures.wrapped(node.id, result.errors[0], path=frame.path)
    )


def remember_undo(session: Session, frame: Walk, node: NodeBase, attempt: int) -> None:
    """Keep what compensates a completed node, its args rendered now (with its own output)."""
    compensate = node.compensate
    assert compensate is not None
    args: dict[str, Any] | None = None
    problem: str | None = None
    try:
        args = compensate.args.render(frame.scope)
    except NodeFailure as failure:
        problem = failure.message
    session.undo.append(
        Undo(
            (*frame.key, session.position[node.id]),
            node.id,
            frame.path,
            attempt,
            compensate.tool,
            args,
            problem,
        )
    )
