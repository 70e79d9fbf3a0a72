"""The failures engines raise themselves, with the exact codes and messages of the contract.

Both engines build these errors here, so that a timeout, a loop limit or a failed
compensation reads the same whichever engine ran the workflow (docs/semantics.md §7.7).
"""

from __future__ import annotations

from engines.errors import ErrorCode, NodeFailure
from engines.result import IterationPath, NodeError

#: A run at this depth may not start a child (the top run has depth 0).
MAX_SUBWORKFLOW_DEPTH = 10


def timeout(seconds: float) -> NodeFailure:
    return NodeFailure(ErrorCode.TIMEOUT, f"timed out after {seconds:g} s", recoverable=True)


def loop_limit(node: str, max_iterations: int) -> NodeFailure:
    return NodeFailure(
        ErrorCode.LOOP_LIMIT,
        f"loop {node!r} needs more than max_iterations ({max_iterations}) iterations",
        recoverable=False,
    )


def subworkflow_depth(workflow_id: str) -> NodeFailure:
    return NodeFailure(
        ErrorCode.SUBWORKFLOW_DEPTH,
        f"starting sub-workflow {workflow_id!r} would nest deeper than "
        f"{MAX_SUBWORKFLOW_DEPTH} levels",
        recoverable=False,
    )


def cancelled() -> NodeFailure:
    return NodeFailure(ErrorCode.CANCELLED, "cancelled", recoverable=False)


def circuit_open(tool: str, failure_threshold: int, reset_timeout: float) -> NodeFailure:
    """An attempt refused by an open circuit breaker (docs/semantics.md §7.7): recoverable,
    since the breaker half-opens once its reset timeout has passed."""
    return NodeFailure(
        ErrorCode.CIRCUIT_OPEN,
        f"circuit breaker of tool {tool!r} is open ({failure_threshold} consecutive failures; "
        f"resets after {reset_timeout:g} s)",
        recoverable=True,
    )


def node_error(
    node: str, failure: NodeFailure, *, attempts: int = 1, path: IterationPath = ()
) -> NodeError:
    """The error record of a node that failed with `failure` after `attempts` attempts."""
    return NodeError(
        node=node,
        code=failure.code,
        message=failure.message,
        recoverable=failure.recoverable,
        attempts=attempts,
        path=path,
    )


def wrapped(node: str, inner: NodeError, *, path: IterationPath = ()) -> NodeError:
    """The error of a container or sub-workflow node that reports an inner failure."""
    return NodeError(
        node=node,
        code=inner.code,
        message=inner.message,
        recoverable=False,
        attempts=1,
        path=path,
        cause=inner,
    )


def child_cancelled(node: str, first: NodeError | None, *, path: IterationPath = ()) -> NodeError:
    """The error of a sub-workflow node whose child run was cancelled (docs/semantics.md
    §7.11): CANCELLED, with the child's first error as the cause."""
    return node_error(node, cancelled(), path=path).model_copy(update={"cause": first})


def compensation_failed(
    node: str, tool: str, failure: NodeFailure, *, path: IterationPath = ()
) -> NodeError:
    return NodeError(
        node=node,
        code=ErrorCode.COMPENSATION_FAILED,
        message=f"compensation {tool!r} failed: {failure.code}: {failure.message}".rstrip(": "),
        recoverable=False,
        attempts=1,
        path=path,
    )
