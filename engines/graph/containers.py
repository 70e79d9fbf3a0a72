"""Loops and parallels: containers open child frames (iterations, branches) and turn their
results into the container node's outcome (docs/semantics.md §7.4, §7.5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import NodeFailure
from engines.graph.handlers import Outcome
from engines.graph.plan import NodePlan
from engines.graph.state import COMPLETED, Frame, LoopRun, ParallelRun
from engines.model.nodes import LoopNode, ParallelNode

if TYPE_CHECKING:
    from engines.graph.execution import Execution


def open_container(execution: Execution, frame: Frame, plan: NodePlan) -> None:
    execution.emit("started", plan.id, 1, frame.path)
    try:
        if isinstance(plan.node, LoopNode):
            run: LoopRun | ParallelRun = _loop(frame, plan, plan.node)
        else:
            assert isinstance(plan.node, ParallelNode)
            run = _parallel(frame, plan, plan.node)
    except NodeFailure as failure:
        execution._node_failed(frame, plan, failure, 1)
        return
    frame.runs[plan.id] = run
    if isinstance(run, LoopRun):
        advance_loop(execution, run, None)
    else:
        fill_branches(execution, run)


def _loop(frame: Frame, plan: NodePlan, node: LoopNode) -> LoopRun:
    params = node.params
    limit = params.max_iterations.render(frame.scope)
    run = LoopRun(plan, frame, params.mode, limit)
    if params.mode == "for":
        assert params.count is not None
        run.count = params.count.render(frame.scope)
        total = run.count
    elif params.mode == "forEach":
        assert params.items is not None
        run.items = params.items.render(frame.scope)
        total = len(run.items)
    else:
        return run
    if total > limit:
        raise failures.loop_limit(plan.id, limit)
    return run


def loop_entry(run: LoopRun, index: int) -> dict[str, Any]:
    items = run.items
    return {
        "index": index,
        "iteration": index + 1,
        "item": items[index] if items is not None else None,
        "items": items,
    }


def _condition(run: LoopRun, index: int) -> bool:
    node = run.node.node
    assert isinstance(node, LoopNode) and node.params.condition is not None
    scope = dict(run.frame.scope)
    scope["loop"] = {"index": index, "iteration": index + 1, "item": None, "items": None}
    return node.params.condition.test(scope)


def advance_loop(execution: Execution, run: LoopRun, finished: int | None) -> None:
    """Start the next iteration, or complete or fail the loop. `finished` is the index of the
    iteration that just ended (None before the first)."""
    index = 0 if finished is None else finished + 1
    try:
        if run.mode == "for" or run.mode == "forEach":
            total = run.count if run.mode == "for" else len(run.items or ())
            go = index < (total or 0)
        elif run.mode == "while":
            go = _condition(run, index)
            if go and index == run.max_iterations:
                raise failures.loop_limit(run.node.id, run.max_iterations)
        elif finished is None:  # doWhile runs its first iteration unconditionally
            go = True
        else:
            go = _condition(run, finished)
            if go and index == run.max_iterations:
                raise failures.loop_limit(run.node.id, run.max_iterations)
    except NodeFailure as failure:
        del run.frame.runs[run.node.id]
        execution._node_failed(run.frame, run.node, failure, 1)
        return
    if not go:
        del run.frame.runs[run.node.id]
        output = {"results": run.results, "iterations": len(run.results)}
        execution._node_completed(run.frame, run.node, Outcome(output), 1)
        return
    run.index = index
    level = execution.plan.levels[run.node.id]
    child = Frame.open_child(level, run.frame, run, index, "loop", loop_entry(run, index))
    run.child = child
    execution._enqueue(child, execution.plan.nodes[level.start])


def _exit_output(execution: Execution, child: Frame) -> Any:
    exit_id = child.level.exit
    state = child.view.get(exit_id) if exit_id is not None else None
    return state["output"] if state is not None and state["status"] == COMPLETED else None


def iteration_done(execution: Execution, run: LoopRun, child: Frame) -> None:
    run.child = None
    if child.errors:
        del run.frame.runs[run.node.id]
        inner = child.first_error(execution.plan.topology.index)
        execution._fail_with(
            run.frame, run.node, failures.wrapped(run.node.id, inner, path=run.frame.path)
        )
        return
    run.results.append(_exit_output(execution, child))
    advance_loop(execution, run, run.index)


def _parallel(frame: Frame, plan: NodePlan, node: ParallelNode) -> ParallelRun:
    params = node.params
    limit = params.max_concurrency.render(frame.scope)
    if params.mode == "count":
        assert params.count is not None
        return ParallelRun(plan, frame, params.count.render(frame.scope), limit)
    assert params.items is not None
    items = params.items.render(frame.scope)
    return ParallelRun(plan, frame, len(items), limit, items)


def parallel_entry(run: ParallelRun, index: int) -> dict[str, Any]:
    items = run.items
    return {"index": index, "item": items[index] if items is not None else None, "items": items}


def fill_branches(execution: Execution, run: ParallelRun) -> None:
    """Open branches up to the concurrency limit; complete or fail the parallel when done."""
    if run.done:
        _finish_parallel(execution, run)
        return
    level = execution.plan.levels[run.node.id]
    start = execution.plan.nodes[level.start]
    while run.next_index < run.branches and len(run.active) < run.max_concurrency:
        index = run.next_index
        run.next_index += 1
        child = Frame.open_child(
            level, run.frame, run, index, "parallel", parallel_entry(run, index)
        )
        run.active[index] = child
        execution._enqueue(child, start)


def branch_done(execution: Execution, run: ParallelRun, child: Frame) -> None:
    index = child.path[-1][1]
    del run.active[index]
    if child.errors:
        run.failures[index] = child.first_error(execution.plan.topology.index)
    else:
        run.results[index] = _exit_output(execution, child)
    fill_branches(execution, run)


def _finish_parallel(execution: Execution, run: ParallelRun) -> None:
    del run.frame.runs[run.node.id]
    if run.failures:
        inner = run.failures[min(run.failures)]
        execution._fail_with(
            run.frame, run.node, failures.wrapped(run.node.id, inner, path=run.frame.path)
        )
        return
    output = {"results": [run.results[i] for i in range(run.branches)]}
    execution._node_completed(run.frame, run.node, Outcome(output), 1)
