"""Settling a node of a walk: it completed, failed (routed or not) or was skipped; the paths
out of it arrive open or closed accordingly, which is what the join rule of later states
reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engines.journey.state import Walk
from engines.result import NodeError

if TYPE_CHECKING:
    from engines.journey.session import Session


def skip(session: Session, frame: Walk, node_id: str, reason: str) -> None:
    """Skip a node and close every path out of it."""
    frame.settle_skipped(node_id)
    session.emit("skipped", node_id, 0, frame.path, {"reason": reason})
    for _, target in session.plan_out[node_id]:
        frame.path_arrives(target, False)


def open_paths(session: Session, frame: Walk, node_id: str, handles: tuple[str, ...]) -> None:
    """The paths out of `node_id` through `handles` arrive open; the others close."""
    frame.paths_arrive(session.plan_out[node_id], handles)


def complete(
    session: Session,
    frame: Walk,
    node_id: str,
    output: Any,
    attempt: int,
    handles: tuple[str, ...] = ("out",),
    token: str = "completed",
) -> str:
    frame.settle_done(node_id, output)
    session.node_completed(node_id, attempt, frame.path)
    node = session.nodes[node_id]
    if node.compensate is not None:
        session.remember_undo(frame, node, attempt)
    open_paths(session, frame, node_id, handles)
    return token


def fail(session: Session, frame: Walk, node_id: str, error: NodeError) -> str:
    """A node failed: its error port takes the path, or its dependents are given up."""
    routed = session.has_error_port[node_id]
    session.emit(
        "failed",
        node_id,
        error.attempts,
        frame.path,
        {"code": error.code, "message": error.message, "handled": routed},
    )
    if routed:
        frame.settle_routed(node_id, error)
        open_paths(session, frame, node_id, ("error",))
        return "failed"
    frame.settle_failed(node_id, error)
    for descendant in session.descendants(node_id):
        if descendant not in frame.settled:
            frame.settle_skipped(descendant)
            session.emit("skipped", descendant, 0, frame.path, {"reason": "upstream_failed"})
    return "failed"
