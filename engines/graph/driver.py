"""The multi-turn driver: run a fixture case on the graph engine, answering each pause with
the next payload of the case's conversation — across a JSON snapshot round trip each time,
so every fixture with an input node also proves that resume works — and cancelling it where
the case says (docs/semantics.md §7.11). With a store, each turn after a pause is taken
through a claim on the stored run (`engines.graph.resume.checkout`), as a service would."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from engines.clock import run_turn
from engines.documents import Cancel, Case
from engines.graph.engine import GraphEngine
from engines.graph.execution import Execution
from engines.graph.resume import checkout
from engines.graph.store import SnapshotStore
from engines.model import WorkflowRegistry
from engines.result import RunResult, RunStatus

#: Makes the engine that resumes a paused run from its snapshot (a fresh instance, as a new
#: process would have); None resumes on the same engine.
Restorer = Callable[[], GraphEngine]


def run_conversation(
    engine: GraphEngine,
    registry: WorkflowRegistry,
    inputs: dict[str, Any],
    conversation: tuple[Any, ...] | list[Any] = (),
    *,
    roundtrip: bool = True,
    cancel: Cancel | None = None,
    fresh: Restorer | None = None,
    store: SnapshotStore | None = None,
) -> RunResult:
    """Start with `inputs`, answer pauses with `conversation` in order; the final result is
    `paused` if the conversation runs out (or `cancelled`, with `cancel: {when: paused}`).
    With `roundtrip`, every pause goes through a JSON snapshot — saved in `store` under the
    execution's id and resumed from there under a claim, when one is given — and is resumed
    by `fresh()`."""
    at = cancel.at if cancel is not None else None
    execution = engine.start(registry, inputs)
    result = run_turn(
        engine.clock, execution.run, cancel_after=at, cancel=lambda x=execution: x.cancel()
    )
    for payload in conversation:
        if result.status is not RunStatus.PAUSED:
            break
        left = None if at is None else at - result.metrics.duration
        with _moved(engine, execution, registry, roundtrip, fresh, store) as execution:
            engine = execution.engine
            result = run_turn(
                engine.clock,
                lambda e=execution, p=payload: e.resume(p),
                cancel_after=left,
                cancel=lambda x=execution: x.cancel(),
            )
    if cancel is not None and cancel.when == "paused" and result.status is RunStatus.PAUSED:
        with _moved(engine, execution, registry, roundtrip, fresh, store) as execution:
            result = execution.engine.clock.run(execution.cancel_paused)
    return result


def _moved(
    engine: GraphEngine,
    execution: Execution,
    registry: WorkflowRegistry,
    roundtrip: bool,
    fresh: Restorer | None,
    store: SnapshotStore | None,
) -> AbstractContextManager[Execution]:
    """The execution to run the next turn on: itself, or restored from its snapshot (through
    JSON, or saved in `store` and checked out of it under a claim) on `fresh()`."""
    if not roundtrip:
        return nullcontext(execution)
    target = fresh() if fresh is not None else engine
    if store is not None:
        store.save(execution.id, execution.snapshot())
        return checkout(target, registry, store, execution.id)
    snapshot = json.loads(json.dumps(execution.snapshot()))
    return nullcontext(target.restore(registry, snapshot))


def run_case(
    engine: GraphEngine, registry: WorkflowRegistry, case: Case, *, roundtrip: bool = True
) -> RunResult:
    """Run one fixture case (its inputs, conversation and cancel)."""
    return run_conversation(
        engine, registry, case.inputs, case.conversation, roundtrip=roundtrip, cancel=case.cancel
    )
