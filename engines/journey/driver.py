"""Running a fixture case as a conversation: start with the case's inputs, then answer each
question with the next payload of its conversation — saving the session to JSON and loading
it back before every answer, so every fixture with an input also proves that sessions
persist — and cancelling it where the case says (docs/semantics.md §7.11)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from engines.clock import run_turn
from engines.documents import Cancel, Case
from engines.journey.engine import JourneyEngine
from engines.journey.session import JourneyResult, Session
from engines.model import WorkflowRegistry
from engines.result import RunStatus

#: Makes the engine that loads a saved session (a fresh instance, as a new process would
#: have); None loads it on the same engine.
Loader = Callable[[], JourneyEngine]


def run_conversation(
    engine: JourneyEngine,
    registry: WorkflowRegistry,
    inputs: dict[str, Any],
    conversation: tuple[Any, ...] | list[Any] = (),
    *,
    roundtrip: bool = True,
    cancel: Cancel | None = None,
    fresh: Loader | None = None,
) -> JourneyResult:
    """The final result; `paused` if the conversation runs out first (or `cancelled`, with
    `cancel: {when: paused}`). With `roundtrip`, every pause goes through a saved session
    loaded by `fresh()`."""
    at = cancel.at if cancel is not None else None
    session = engine.start_session(registry, inputs)
    result = run_turn(
        engine.clock, session.start, cancel_after=at, cancel=lambda x=session: x.cancel()
    )
    for payload in conversation:
        if result.status is not RunStatus.PAUSED:
            break
        if roundtrip:
            engine, session = _loaded(engine, session, registry, fresh)
        result = run_turn(
            engine.clock,
            lambda s=session, p=payload: s.reply(p),
            cancel_after=None if at is None else at - result.metrics.duration,
            cancel=lambda x=session: x.cancel(),
        )
    if cancel is not None and cancel.when == "paused" and result.status is RunStatus.PAUSED:
        if roundtrip:
            engine, session = _loaded(engine, session, registry, fresh)
        result = engine.clock.run(session.cancel_paused)
    return result


def _loaded(
    engine: JourneyEngine, session: Session, registry: WorkflowRegistry, fresh: Loader | None
) -> tuple[JourneyEngine, Session]:
    saved = json.loads(json.dumps(session.to_json()))
    if fresh is not None:
        engine = fresh()
    return engine, engine.load_session(registry, saved)


def run_case(
    engine: JourneyEngine, registry: WorkflowRegistry, case: Case, *, roundtrip: bool = True
) -> JourneyResult:
    return run_conversation(
        engine, registry, case.inputs, case.conversation, roundtrip=roundtrip, cancel=case.cancel
    )
