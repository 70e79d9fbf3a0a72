"""Loops and parallels in the journey: an enter state sets the journey-held counter, a test
fork decides from it whether another iteration (or branch) runs, the body's walk runs it,
and the next state records its result and transitions back to the test — until the finish
state completes or fails the container (docs/semantics.md §7.4, §7.5).

Branches run one after another, by index; a branch that waits for an answer stays open,
and at most `max_concurrency` branches are open at once, as in every engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engines import failures
from engines.errors import NodeFailure
from engines.journey import walker
from engines.journey.compiler import finish_id, next_id, test_id
from engines.journey.settling import complete, fail
from engines.journey.state import DONE, BranchCounter, Counter, LoopCounter, Walk
from engines.model.nodes import LoopNode, NodeBase, ParallelNode

if TYPE_CHECKING:
    from engines.journey.session import Session


async def enter(session: Session, frame: Walk, node: NodeBase, position: int) -> str | None:
    """The container's enter state: set its counter and run it as far as it goes. Returns the
    finish state's outcome token, or None while the container waits inside."""
    session.emit("started", node.id, 1, frame.path)
    session.visit(session.journey.states[node.id], None, frame.path)
    scope = frame.scope
    try:
        if isinstance(node, LoopNode):
            params = node.params
            limit = params.max_iterations.render(scope)
            counter: Counter = LoopCounter(node.id, position, frame, params.mode, limit)
            if params.count is not None:
                counter.count = params.count.render(scope)  # type: ignore[attr-defined]
                total = counter.count  # type: ignore[attr-defined]
            elif params.items is not None:
                counter.items = params.items.render(scope)  # type: ignore[attr-defined]
                total = len(counter.items)  # type: ignore[attr-defined]
            else:
                total = 0
            if params.mode in ("for", "forEach") and total > limit:
                raise failures.loop_limit(node.id, limit)
        else:
            assert isinstance(node, ParallelNode)
            params_p = node.params
            width = params_p.max_concurrency.render(scope)
            if params_p.count is not None:
                counter = BranchCounter(
                    node.id,
                    position,
                    frame,
                    branches=params_p.count.render(scope),
                    max_concurrency=width,
                )
            else:
                assert params_p.items is not None
                items = params_p.items.render(scope)
                counter = BranchCounter(
                    node.id,
                    position,
                    frame,
                    branches=len(items),
                    max_concurrency=width,
                    items=items,
                )
    except NodeFailure as failure:
        return fail(session, frame, node.id, failures.node_error(node.id, failure, path=frame.path))
    frame.runs[node.id] = counter
    if isinstance(counter, LoopCounter):
        return await _advance_loop(session, counter, None)
    assert isinstance(counter, BranchCounter)
    return await _advance_branches(session, counter)


def _loop_entry(counter: LoopCounter, index: int) -> dict[str, Any]:
    items = counter.items
    return {
        "index": index,
        "iteration": index + 1,
        "item": items[index] if items is not None else None,
        "items": items,
    }


def _branch_entry(counter: BranchCounter, index: int) -> dict[str, Any]:
    items = counter.items
    return {"index": index, "item": items[index] if items is not None else None, "items": items}


def open_walk(session: Session, counter: Counter, index: int) -> Walk:
    level = session.journey.levels[counter.node]
    entry = (
        _loop_entry(counter, index)
        if isinstance(counter, LoopCounter)
        else _branch_entry(counter, index)
    )  # type: ignore[arg-type]
    return Walk.child(level, session.incoming[counter.node], counter.walk, counter, index, entry)


def _test_loop(session: Session, counter: LoopCounter, finished: int | None) -> bool:
    """The loop's test fork: does iteration `index` run? Raises LOOP_LIMIT."""
    index = 0 if finished is None else finished + 1
    node = session.nodes[counter.node]
    assert isinstance(node, LoopNode)
    if counter.mode in ("for", "forEach"):
        total = counter.count if counter.mode == "for" else len(counter.items or ())
        return index < (total or 0)
    if counter.mode == "doWhile" and finished is None:
        return True
    scope = dict(counter.walk.scope)
    asked = index if counter.mode == "while" else finished
    scope["loop"] = {"index": asked, "iteration": (asked or 0) + 1, "item": None, "items": None}
    assert node.params.condition is not None
    more = node.params.condition.test(scope)
    if more and index == counter.max_iterations:
        raise failures.loop_limit(counter.node, counter.max_iterations)
    return more


async def _advance_loop(session: Session, counter: LoopCounter, finished: int | None) -> str | None:
    test = session.journey.states[test_id(counter.node)]
    frame = counter.walk
    # A counted loop's test needs no scope: `_test_loop`'s answer, computed here.
    total = None
    if counter.mode == "for":
        total = counter.count or 0
    elif counter.mode == "forEach":
        total = len(counter.items or ())
    visited, test_at = session.path, (test.id, frame.path)
    level, incoming = session.journey.levels[counter.node], session.incoming[counter.node]
    while True:
        if total is not None:
            more = (0 if finished is None else finished + 1) < total
        else:
            try:
                more = _test_loop(session, counter, finished)
            except NodeFailure as failure:
                session.visit(test, "done", frame.path)
                return _finish(
                    session,
                    counter,
                    failure=failures.node_error(counter.node, failure, path=frame.path),
                )
        visited.append((test_at[0], "more" if more else "done", test_at[1]))  # `visit`
        if not more:
            output = {"results": counter.results, "iterations": len(counter.results)}
            return _finish(session, counter, output=output)
        index = 0 if finished is None else finished + 1
        counter.index = index
        # `open_walk`, with the level and its incoming counts looked up once per loop
        child = Walk.child(level, incoming, frame, counter, index, _loop_entry(counter, index))
        counter.child = child
        await walker.walk(session, child, 0)
        if child.open:  # not finished: waiting inside
            return None
        failed = _record_iteration(session, counter, child)
        if failed is not None:
            return failed
        finished = index


def _exit_output(session: Session, child: Walk) -> Any:
    state = child.settled.get(session.exits[child.level.container])  # type: ignore[arg-type]
    return state["output"] if state is not None and state["status"] == DONE else None


def _record_iteration(session: Session, counter: LoopCounter, child: Walk) -> str | None:
    """The loop's next state; returns the finish token if the iteration failed."""
    counter.child = None
    session.path.append((next_id(counter.node), None, counter.walk.path))  # `visit`, inlined
    if child.errors:
        inner = min(child.errors, key=lambda e: session.position[e.node])
        return _finish(
            session, counter, failure=failures.wrapped(counter.node, inner, path=counter.walk.path)
        )
    counter.results.append(_exit_output(session, child))
    return None


async def _advance_branches(session: Session, counter: BranchCounter) -> str | None:
    test = session.journey.states[test_id(counter.node)]
    frame = counter.walk
    while counter.opened < counter.branches and len(counter.active) < counter.max_concurrency:
        session.visit(test, "more", frame.path)
        index = counter.opened
        counter.opened += 1
        child = open_walk(session, counter, index)
        counter.active[index] = child
        await walker.walk(session, child, 0)
        if child.finished:
            _record_branch(session, counter, index, child)
    if counter.active or counter.opened < counter.branches:
        return None
    session.visit(test, "done", frame.path)
    if counter.failures:
        inner = counter.failures[min(counter.failures)]
        return _finish(
            session, counter, failure=failures.wrapped(counter.node, inner, path=frame.path)
        )
    output = {"results": [counter.results[i] for i in range(counter.branches)]}
    return _finish(session, counter, output=output)


def _record_branch(session: Session, counter: BranchCounter, index: int, child: Walk) -> None:
    del counter.active[index]
    session.visit(session.journey.states[next_id(counter.node)], None, counter.walk.path)
    if child.errors:
        counter.failures[index] = min(child.errors, key=lambda e: session.position[e.node])
    else:
        counter.results[index] = _exit_output(session, child)


def _finish(session: Session, counter: Counter, *, output: Any = None, failure: Any = None) -> str:
    del counter.walk.runs[counter.node]
    if failure is not None:
        return fail(session, counter.walk, counter.node, failure)
    return complete(session, counter.walk, counter.node, output, 1)


async def walk_finished(session: Session, counter: Counter, child: Walk) -> bool:
    """A walk of `counter` that waited for an answer has finished: record it and move the
    container on. True when the container settled (completed or failed) as a result."""
    if isinstance(counter, LoopCounter):
        token = _record_iteration(session, counter, child)
        if token is None:
            token = await _advance_loop(session, counter, counter.index)
    else:
        assert isinstance(counter, BranchCounter)
        index = child.path[-1][1]
        _record_branch(session, counter, index, child)
        token = await _advance_branches(session, counter)
    if token is None:
        return False
    session.visit(session.journey.states[finish_id(counter.node)], token, counter.walk.path)
    return True
