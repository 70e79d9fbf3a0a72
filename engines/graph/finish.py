"""The end of a turn: decide the status, abandon inputs, compensate, render the final outputs
and build the result (docs/semantics.md §7.8, §7.11, §7.12)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import ExpressionError, NodeFailure
from engines.graph import packing
from engines.graph.state import COMPLETED, Pending
from engines.result import (
    OUTPUTS_NODE,
    NodeError,
    PauseInfo,
    RunMetrics,
    RunResult,
    RunStatus,
)
from engines.tools import ToolContext

if TYPE_CHECKING:
    from engines.graph.execution import Execution


async def end_turn(execution: Execution, force: RunStatus | None = None) -> RunResult:
    state = execution.state
    top = state.top
    outputs: dict[str, Any] = {}
    if force is not None:
        status = force
    elif execution._cancel_requested:
        status = RunStatus.CANCELLED
    elif top is not None and top.errors:
        status = RunStatus.FAILED
    elif state.pending:
        status = RunStatus.PAUSED
    else:
        status = RunStatus.COMPLETED
        try:
            outputs = final_outputs(execution)
        except NodeFailure as failure:
            state.extra_errors.append(failures.node_error(OUTPUTS_NODE, failure))
            status = RunStatus.FAILED
    if status in (RunStatus.FAILED, RunStatus.CANCELLED) and top is not None:
        _abandon(execution)
        await compensate(execution)
    execution.status = status
    execution._elapsed = execution.now()
    kind = {
        RunStatus.COMPLETED: "execution.completed",
        RunStatus.FAILED: "execution.failed",
        RunStatus.PAUSED: "execution.paused",
        RunStatus.CANCELLED: "execution.cancelled",
    }[status]
    execution.emit(kind, None, 0, ())
    execution.stream.close_turn()
    result = build_result(execution, status, outputs)
    if status is RunStatus.PAUSED:
        packing.pack(execution)
    return result


def final_outputs(execution: Execution) -> dict[str, Any]:
    top = execution.state.top
    assert top is not None
    declared = execution.plan.workflow.outputs
    if declared is not None:
        return {name: template.render(top.scope) for name, template in declared.items()}
    merged: dict[str, Any] = {}
    for node_id in top.level.ends:
        state = top.view.get(node_id)
        if state is not None and state["status"] == COMPLETED:
            merged.update(state["output"])
    return merged


def _abandon(execution: Execution) -> None:
    for pending in sorted(execution.state.pending, key=lambda p: p.order_key):
        execution.emit("skipped", pending.node.id, 0, pending.frame.path, {"reason": "abandoned"})
    execution.state.pending.clear()


async def compensate(execution: Execution) -> None:
    """Run the compensation of every completed node execution, latest order key first."""
    state = execution.state
    tools = execution.engine.tools
    for record in sorted(state.compensations, key=lambda r: r.order_key, reverse=True):
        failure: NodeFailure | None = None
        if record.args is None:
            failure = ExpressionError(record.render_error or "args could not be rendered")
        else:
            ctx = ToolContext(
                clock=execution.engine.clock,
                node=record.node,
                attempt=record.attempt,
                path=record.path,
                workflow=execution.plan.id,
            )
            try:
                await tools.call(record.tool, record.args, ctx)
            except NodeFailure as error:
                failure = error
        detail: dict[str, Any] = {"tool": record.tool, "ok": failure is None}
        if failure is not None:
            detail["code"] = failure.code
            state.extra_errors.append(
                failures.compensation_failed(record.node, record.tool, failure, path=record.path)
            )
        execution.emit("compensated", record.node, record.attempt, record.path, detail)
    state.compensations.clear()


def _errors(execution: Execution) -> tuple[NodeError, ...]:
    top = execution.state.top
    index = execution.plan.topology.index
    ordered = sorted(top.errors, key=lambda e: index[e.node]) if top is not None else []
    cancelled = [error for _, error in sorted(execution.state.cancelled, key=lambda c: c[0])]
    return (*ordered, *cancelled, *execution.state.extra_errors)


def _pause(pending: Pending) -> PauseInfo:
    schema = pending.node.node.params.schema_  # type: ignore[attr-defined]
    return PauseInfo(
        node=pending.node.id,
        prompt=pending.prompt,
        schema=schema.as_json_schema() if schema is not None else None,
        path=pending.frame.path,
    )


def build_result(execution: Execution, status: RunStatus, outputs: dict[str, Any]) -> RunResult:
    top = execution.state.top
    node_outputs: dict[str, Any] = {}
    node_errors: dict[str, NodeError] = {}
    if top is not None:
        node_outputs = {n: s["output"] for n, s in top.view.items() if s["status"] == COMPLETED}
        node_errors = dict(top.routed)
    trace = execution.stream.trace()
    metrics = RunMetrics(
        node_executions=trace.started(),
        duration=execution._elapsed,
        wall_seconds=time.perf_counter() - execution._wall,
        subscriber_errors=len(execution.stream.subscriber_errors),
    )
    return RunResult.with_lean_trace(
        trace,
        engine=execution.engine.name,
        workflow_id=execution.plan.id,
        status=status,
        outputs=outputs,
        vars=dict(execution.state.vars),
        node_outputs=node_outputs,
        node_errors=node_errors,
        errors=_errors(execution),
        pause=_pause(execution.pause_point()) if status is RunStatus.PAUSED else None,
        metrics=metrics,
    )
