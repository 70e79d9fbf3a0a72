"""Helpers shared by the journey engine's session, walk and property tests: engines on a
virtual clock, conversations with or without a JSON round trip at every pause, and the facts
two runs must share (docs/semantics.md §9)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from engines.clock import VirtualClock
from engines.documents import Cancel, Case, Fixture, load_fixture
from engines.graph import GraphEngine
from engines.journey import JourneyEngine, JourneyResult, Session
from engines.model import ValidatedWorkflow, WorkflowRegistry
from engines.result import RunResult, RunStatus
from engines.tools import ToolRegistry, builtin_registry

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"

Workflowish = WorkflowRegistry | ValidatedWorkflow | dict[str, Any]
#: Moves a paused session somewhere and back: returns the session to reply to.
Transport = Callable[[Session, Workflowish], Session]


@cache
def fixture(name: str) -> Fixture:
    return load_fixture(FIXTURES / name, tools=builtin_registry())


def case_of(name: str, case: str) -> Case:
    return fixture(name).case(case)


def has_input(registry: WorkflowRegistry) -> bool:
    main = registry.main
    return any(main.workflow.node(n).type == "input" for n in main.topology.iter_nodes())


INPUT_FIXTURES = [
    path.name for path in sorted(FIXTURES.glob("*.yaml")) if has_input(fixture(path.name).registry)
]
CONVERSATION_CASES = [
    (name, case.name)
    for name in INPUT_FIXTURES
    for case in fixture(name).cases
    if case.conversation
]
CASE_IDS = [f"{name[:-5]}:{case}" for name, case in CONVERSATION_CASES]


def journey_engine(tools: ToolRegistry | None = None) -> JourneyEngine:
    """A journey engine on a fresh virtual clock (built-in tools unless `tools` is given)."""
    return JourneyEngine(
        tools=tools if tools is not None else builtin_registry(), clock=VirtualClock()
    )


def graph_engine(tools: ToolRegistry | None = None) -> GraphEngine:
    return GraphEngine(
        tools=tools if tools is not None else builtin_registry(), clock=VirtualClock()
    )


def saved(session: Session) -> dict[str, Any]:
    """The session's saved form, through JSON text (as a store would keep it)."""
    return json.loads(json.dumps(session.to_json(), allow_nan=False))


def same_engine(session: Session, workflow: Workflowish) -> Session:
    return session.engine.load_session(workflow, saved(session))


def fresh_engine(session: Session, workflow: Workflowish) -> Session:
    engine = JourneyEngine(tools=session.engine.tools, clock=VirtualClock())
    return engine.load_session(workflow, saved(session))


def converse(
    workflow: Workflowish,
    inputs: dict[str, Any],
    conversation: Sequence[Any],
    transport: Transport | None = None,
    *,
    engine: JourneyEngine | None = None,
    cancel: Cancel | None = None,
) -> tuple[JourneyResult, Session]:
    """Start, then answer each question in turn; before each answer `transport` (if any)
    saves the session and loads it back (and before a `cancel: {when: paused}` too).
    Returns the last result and session."""
    engine = engine if engine is not None else journey_engine()
    session = engine.start_session(workflow, inputs)
    result = engine.clock.run(session.start)
    for payload in conversation:
        if result.status is not RunStatus.PAUSED:
            break
        if transport is not None:
            session = transport(session, workflow)
        result = session.engine.clock.run(lambda s=session, p=payload: s.reply(p))
    if cancel is not None and cancel.when == "paused" and result.status is RunStatus.PAUSED:
        if transport is not None:
            session = transport(session, workflow)
        result = session.engine.clock.run(session.cancel_paused)
    return result, session


def graph_converse(
    workflow: Workflowish,
    inputs: dict[str, Any],
    conversation: Sequence[Any],
    tools: ToolRegistry | None = None,
) -> RunResult:
    """The graph engine's result for the same conversation, resumed in memory."""
    engine = graph_engine(tools)
    execution = engine.start(workflow, inputs)
    result = engine.clock.run(execution.run)
    for payload in conversation:
        if result.status is not RunStatus.PAUSED:
            break
        result = engine.clock.run(lambda p=payload: execution.resume(p))
    return result


COMPARED = {"status", "outputs", "vars", "node_outputs", "node_errors", "errors", "pause"}


def facts(result: RunResult, *, ordered: bool = True) -> dict[str, Any]:
    """What two runs of one conversation must share (docs/semantics.md §9), as canonical JSON
    (so 1, 1.0 and True differ). Trace steps in order, or as a sorted multiset."""
    data = result.model_dump(mode="json", include=COMPARED)
    steps = [e.step() for e in result.trace]
    return {
        "data": json.dumps(data, sort_keys=True),
        "executed": sorted(result.executed_nodes()),
        "steps": steps if ordered else sorted(steps, key=repr),
    }


def transcript(result: JourneyResult) -> list[tuple[str, str, str | None]]:
    return [(m.role, m.text, m.node) for m in result.transcript]


def is_json_data(value: Any) -> bool:
    """Only JSON types (dict with str keys, list, str, int, float, bool, None)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json_data(v) for k, v in value.items())
    if isinstance(value, list):
        return all(is_json_data(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def templates_of(document: Any) -> set[str]:
    """Every string with Jinja in it, anywhere in a workflow document."""
    if isinstance(document, dict):
        return set().union(set(), *(templates_of(v) for v in document.values()))
    if isinstance(document, list):
        return set().union(set(), *(templates_of(v) for v in document))
    if isinstance(document, str) and ("{{" in document or "{%" in document):
        return {document}
    return set()
