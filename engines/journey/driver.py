"""Running a fixture case as a conversation: start with the case's inputs, then answer each
question with the next payload of its conversation — saving the session to JSON and loading
it back before every answer, so every fixture with an input also proves that sessions
persist."""

from __future__ import annotations

import json
from typing import Any

from engines.documents import Case
from engines.journey.engine import JourneyEngine
from engines.journey.session import JourneyResult
from engines.model import WorkflowRegistry
from engines.result import RunStatus


def run_conversation(
    engine: JourneyEngine,
    registry: WorkflowRegistry,
    inputs: dict[str, Any],
    conversation: tuple[Any, ...] | list[Any] = (),
    *,
    roundtrip: bool = True,
) -> JourneyResult:
    """The final result; `paused` if the conversation runs out first."""
    session = engine.start_session(registry, inputs)
    result = engine.clock.run(session.start)
    for payload in conversation:
        if result.status is not RunStatus.PAUSED:
            break
        if roundtrip:
            saved = json.loads(json.dumps(session.to_json()))
            session = engine.load_session(registry, saved)
        result = engine.clock.run(lambda s=session, p=payload: s.reply(p))
    return result


def run_case(
    engine: JourneyEngine, registry: WorkflowRegistry, case: Case, *, roundtrip: bool = True
) -> JourneyResult:
    return run_conversation(engine, registry, case.inputs, case.conversation, roundtrip=roundtrip)
