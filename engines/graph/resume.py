"""Resuming a paused execution from a snapshot store — through a claim, so only one process
does it (`engines.graph.claims`).

`checkout` claims the execution, loads and restores it, and hands it over; when the block
ends it writes the outcome back under the claim — the new snapshot if the run paused again,
nothing (the row deleted) if it ended — and releases the claim. If the block raises, the
claim is released and the stored snapshot stays the last paused one, to be resumed again.
A second process that tries meanwhile gets `SnapshotClaimed` naming who holds the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from engines.errors import SnapshotInvalid
from engines.graph.claims import DEFAULT_LEASE_SECONDS, default_owner
from engines.result import RunResult, RunStatus

if TYPE_CHECKING:
    from engines.entry import WorkflowLike
    from engines.graph.engine import GraphEngine
    from engines.graph.execution import Execution
    from engines.graph.store_base import SnapshotStore
    from engines.model import WorkflowRegistry

_ENDED = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)


@contextmanager
def checkout(
    engine: GraphEngine,
    workflow: WorkflowLike,
    store: SnapshotStore,
    execution_id: str,
    *,
    owner: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    registry: WorkflowRegistry | None = None,
) -> Iterator[Execution]:
    """The stored paused execution, restored on `engine` under a claim held by `owner`
    (this process by default) for the block; see the module docstring. Raises
    `SnapshotClaimed` if another resumer holds it, `SnapshotInvalid` if it is not stored or
    is not a snapshot of that execution and workflow."""
    claim = store.claim(execution_id, owner or default_owner(), lease_seconds)
    try:
        snapshot = store.load(execution_id)
        if snapshot.get("execution_id") != execution_id:
            raise SnapshotInvalid(
                f"the snapshot stored for execution {execution_id!r} is of execution "
                f"{snapshot.get('execution_id')!r:.80}"
            )
        execution = engine.restore(workflow, snapshot, registry=registry)
        yield execution
        if execution.status is RunStatus.PAUSED:
            store.save(execution_id, execution.snapshot(), claim=claim)
        elif execution.status in _ENDED:
            store.delete(execution_id, claim=claim)
    finally:
        store.release(claim)


def resume_stored(
    engine: GraphEngine,
    workflow: WorkflowLike,
    store: SnapshotStore,
    execution_id: str,
    payload: Any,
    *,
    node: str | None = None,
    owner: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> RunResult:
    """Answer the stored paused execution with `payload` — one turn on `engine`'s clock,
    under a claim — and write the outcome back."""
    with checkout(
        engine, workflow, store, execution_id, owner=owner, lease_seconds=lease_seconds
    ) as execution:
        return engine.clock.run(lambda: execution.resume(payload, node=node))
