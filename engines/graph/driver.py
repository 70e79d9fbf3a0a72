"""The multi-turn driver: run a fixture case on the graph engine, answering each pause with
the next payload of the case's conversation — across a JSON snapshot round trip each time,
so every fixture with an input node also proves that resume works."""

from __future__ import annotations

import json
from typing import Any

from engines.documents import Case
from engines.graph.engine import GraphEngine
from engines.model import WorkflowRegistry
from engines.result import RunResult, RunStatus


def run_conversation(
    engine: GraphEngine,
    registry: WorkflowRegistry,
    inputs: dict[str, Any],
    conversation: tuple[Any, ...] | list[Any] = (),
    *,
    roundtrip: bool = True,
) -> RunResult:
    """Start with `inputs`, answer pauses with `conversation` in order; the final result is
    `paused` if the conversation runs out. Each turn runs on the engine's clock."""
    execution = engine.start(registry, inputs)
    result = engine.clock.run(execution.run)
    for payload in conversation:
        if result.status is not RunStatus.PAUSED:
            break
        if roundtrip:
            snapshot = json.loads(json.dumps(execution.snapshot()))
            execution = engine.restore(registry, snapshot)
        result = engine.clock.run(lambda e=execution, p=payload: e.resume(p))
    return result


def run_case(
    engine: GraphEngine, registry: WorkflowRegistry, case: Case, *, roundtrip: bool = True
) -> RunResult:
    """Run one fixture case (its inputs and conversation)."""
    return run_conversation(engine, registry, case.inputs, case.conversation, roundtrip=roundtrip)
