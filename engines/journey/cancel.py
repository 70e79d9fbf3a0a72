"""Cancelling a journey session (docs/semantics.md §7.11).

A turn is one coroutine in one asyncio task, and the walk is strictly sequential, so when a
cancel arrives — from another task, while the turn waits on the clock — exactly one attempt
is in progress: the one the task is suspended in, at the bottom of the chain of sub-journeys
in progress, if any. Cancelling therefore marks that chain of sessions and cancels the turn's
task once. The `CancelledError` surfaces where the attempt in progress is awaited
(`actions._timed_node`); there the attempt fails with CANCELLED (`fail_attempt`), and
`Unwound` carries the walk out to the turn's entry point, leaving every walk, loop and
parallel where it stands — a container in progress gets no terminal event. A sub-journey
ends as cancelled by the same rules and returns; its parent's `subworkflow` node then fails
with CANCELLED and unwinds its own walk. The end of the turn completes the dead-path
elimination the walk would have done lazily (`close_dead_paths`), then abandons the questions
and compensates as a failed run does.

A turn that is never cancelled pays for none of this but one flag test per timed attempt:
the handlers are `except` clauses around awaits that are there anyway.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, NoReturn

from engines import failures
from engines.journey.settling import skip
from engines.journey.state import BranchCounter, Counter, LoopCounter, Walk
from engines.result import NodeError

if TYPE_CHECKING:
    from engines.journey.session import Session


class Unwound(BaseException):
    """Raised once the attempt in progress has failed with CANCELLED: leaves the walk at
    once, up to the turn's entry point. A BaseException, so that no `except Exception` on
    the way mistakes it for a node's failure."""


def request(session: Session) -> None:
    """Cancel the turn `session` is running (its status is running).

    A session that is already ending (compensating, building its result) is left alone: a
    cancel that arrives then changes nothing. Otherwise the session and every sub-journey in
    progress under it are marked, down to the one whose attempt is in progress; if that one
    is ending, its parent's `subworkflow` node is cancelled when it returns, and the task is
    not touched. Called from inside the turn's own task (a tool that cancels its own run),
    only the marks are set: the attempt in progress fails once it returns.
    """
    if session.cancelling or session._ending:
        return
    current = session
    while True:
        current.cancelling = True
        child = current._child
        if child is None:
            break
        if child._ending:
            return
        current = child
    task = session._task
    if task is None or task is asyncio.current_task() or task.done():
        return
    current._interrupted = True
    task.cancel()


def fail_attempt(session: Session, frame: Walk, node_id: str, attempt: int) -> NoReturn:
    """The attempt in progress of `node_id` fails with CANCELLED (never routed, never
    retried: `handled` false even with an error port, and its paths stay as they are, so
    no descendant is skipped); then the walk unwinds."""
    error = failures.node_error(node_id, failures.cancelled(), attempts=attempt, path=frame.path)
    _abandon(session, frame, error)


def fail_child(session: Session, frame: Walk, node_id: str, first: NodeError | None) -> NoReturn:
    """A `subworkflow` node whose child ended once the run was cancelled fails with
    CANCELLED, the child's first error as cause; then the walk unwinds."""
    _abandon(session, frame, failures.child_cancelled(node_id, first, path=frame.path))


def _abandon(session: Session, frame: Walk, error: NodeError) -> NoReturn:
    if session._interrupted:
        # The CancelledError this session's task was sent has been delivered and caught:
        # take the request back, so the rest of the turn (compensation) runs normally.
        session._interrupted = False
        task = session._task
        if task is not None:
            task.uncancel()
    node_id = error.node
    session.journey_vars.pop(f"attempt:{node_id}", None)
    session.cancelled.append(((*frame.key, session.position[node_id]), error))
    session.emit(
        "failed",
        node_id,
        error.attempts,
        frame.path,
        {"code": error.code, "message": error.message, "handled": False},
    )
    raise Unwound


def close_dead_paths(session: Session, walk: Walk) -> None:
    """Skip (`dead_path`) every node of `walk` and of the walks open inside it whose paths
    in have all arrived closed: the graph engine skips such a node as soon as its last path
    closes, the journey only when its walk passes over it, which a cancelled walk never
    will. Nothing else gets an event: a node with an open path in (the attempt that was
    cancelled among them) or a path not arrived yet stays as it is. Canonical order is
    topological, so one pass also skips what a skip here closes."""
    settled, unarrived, arrived = walk.settled, walk.unarrived, walk.arrived
    waiting, runs = walk.waiting, walk.runs
    for node_id in walk.level.order[1:]:  # the start has no path in: it always runs
        if node_id in settled or node_id in waiting or node_id in runs:
            continue
        if not unarrived[node_id] and not arrived[node_id]:
            skip(session, walk, node_id, "dead_path")
    for counter in tuple(runs.values()):
        for child in _open_walks(counter):
            close_dead_paths(session, child)


def _open_walks(counter: Counter) -> list[Walk]:
    if isinstance(counter, LoopCounter):
        return [counter.child] if counter.child is not None else []
    assert isinstance(counter, BranchCounter)
    return [counter.active[index] for index in sorted(counter.active)]
