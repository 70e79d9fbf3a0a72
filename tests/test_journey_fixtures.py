"""Every fixture case runs on the journey engine and matches its golden answer; each node
execution keeps its own event order, as the graph engine's does; saving and loading the
session changes nothing; the transcript is the conversation.

That the journey engine gives the graph engine's result on everything docs/semantics.md §9
says must be equal (status, outputs, vars, node outputs, node errors, run errors with their
causes, the pause, the trace's steps and orders) is compat's own comparison: a plain
`pytest` runs every bundled case as an item `fixtures/x.yaml::case` through compat's pytest
plugin (`[tool.compat] pytest_paths` in pyproject.toml; compat/pytest_plugin.py), under the
equivalence policy, golden answers checked on both engines."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engines.clock import VirtualClock
from engines.documents import Case, Fixture, load_fixture
from engines.graph.driver import run_case as run_graph_case
from engines.graph.engine import GraphEngine
from engines.journey import JourneyEngine, JourneyResult
from engines.journey.driver import run_case as run_journey_case
from engines.result import RunResult, RunStatus
from engines.tools import builtin_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FILES = sorted(FIXTURES.glob("*.yaml"))


@cache
def _fixture(name: str) -> Fixture:
    return load_fixture(FIXTURES / name, tools=builtin_registry())


def json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _cases() -> list[Any]:
    return [
        pytest.param(path.name, case.name, id=f"{path.name}::{case.name}")
        for path in FILES
        for case in _fixture(path.name).cases
    ]


CASES = _cases()


def _journey_engine() -> JourneyEngine:
    return JourneyEngine(tools=builtin_registry(), clock=VirtualClock())


@cache
def _journey(file: str, case_name: str, roundtrip: bool = True) -> tuple[Case, JourneyResult]:
    fixture = _fixture(file)
    case = fixture.case(case_name)
    return case, run_journey_case(_journey_engine(), fixture.registry, case, roundtrip=roundtrip)


@cache
def _graph(file: str, case_name: str) -> RunResult:
    fixture = _fixture(file)
    engine = GraphEngine(tools=builtin_registry(), clock=VirtualClock())
    return run_graph_case(engine, fixture.registry, fixture.case(case_name), roundtrip=True)


def test_every_fixture_case_is_collected() -> None:
    assert len(FILES) >= 30
    assert len(CASES) >= 141
    assert len({p.id for p in CASES}) == len(CASES)


@pytest.mark.parametrize(("file", "case_name"), CASES)
def test_case_matches_its_golden_answer(file: str, case_name: str) -> None:
    case, result = _journey(file, case_name)
    expect = case.expect
    assert expect is not None and expect.status is not None
    assert isinstance(result, JourneyResult)
    assert result.engine == "journey"
    assert result.status == expect.status, result.errors
    # JSON types are part of the answer: 2 is not 2.0, true is not 1.
    if expect.outputs is not None:
        assert json_text(result.outputs) == json_text(expect.outputs)
    if expect.vars is not None:
        assert json_text(result.vars) == json_text(expect.vars)
    if expect.errors is not None:
        assert result.error_codes() == [(e.node, e.code) for e in expect.errors]
    # Contract invariants every result keeps (§7.12, §10).
    if result.status is not RunStatus.COMPLETED:
        assert result.outputs == {}
    assert (result.pause is not None) == (result.status is RunStatus.PAUSED)
    assert result.metrics.node_executions == sum(1 for e in result.trace if e.kind == "started")
    seqs = [e.seq for e in result.trace]
    assert seqs == sorted(set(seqs))


def _execution_sequences(result: RunResult) -> dict[tuple[str, Any], list[tuple[int, str]]]:
    by_execution: dict[tuple[str, Any], list[tuple[int, str]]] = {}
    for event in result.trace:
        by_execution.setdefault((event.node, event.path), []).append(
            (event.attempt, event.kind.value)
        )
    return by_execution


@pytest.mark.parametrize(("file", "case_name"), CASES)
def test_each_execution_keeps_its_own_event_order(file: str, case_name: str) -> None:
    """§9: each execution's steps appear in its own sequence (`started` before `retrying`
    before the next `started` … before `completed`/`failed`), the same as the graph's."""
    _, journey = _journey(file, case_name)
    graph = _graph(file, case_name)
    mine = _execution_sequences(journey)
    assert mine == _execution_sequences(graph)
    for execution, sequence in mine.items():
        kinds = [kind for _, kind in sequence]
        assert sum(k in ("completed", "failed") for k in kinds) <= 1, (execution, sequence)
        if "started" in kinds:
            assert kinds[0] == "started", (execution, sequence)
        attempts = [a for a, kind in sequence if kind == "started"]
        assert attempts == list(range(1, len(attempts) + 1)), (execution, sequence)


def _persisted_view(result: JourneyResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "outputs": result.outputs,
        "vars": result.vars,
        "node_outputs": result.node_outputs,
        "node_errors": result.node_errors,
        "errors": result.errors,
        "pause": result.pause,
        "steps": [event.step() for event in result.trace],
        "transcript": [(m.role, m.text, m.node) for m in result.transcript],
        "said": result.said,
    }


@pytest.mark.parametrize(("file", "case_name"), CASES)
def test_saving_and_loading_the_session_changes_nothing(file: str, case_name: str) -> None:
    _, saved_every_turn = _journey(file, case_name, True)
    _, in_process = _journey(file, case_name, False)
    assert _persisted_view(saved_every_turn) == _persisted_view(in_process)


def _answered_inputs(result: RunResult, inputs: set[str]) -> list[str]:
    """The input nodes the conversation answered, in order: each answer completes its input
    or fails it with INPUT_INVALID (§7.10)."""
    return [
        e.node
        for e in result.trace
        if e.node in inputs
        and (e.kind == "completed" or (e.kind == "failed" and e.detail["code"] == "INPUT_INVALID"))
    ]


@pytest.mark.parametrize(("file", "case_name"), CASES)
def test_the_transcript_is_the_conversation(file: str, case_name: str) -> None:
    """The customer's messages are the answers, to the inputs the graph engine answered, in
    the same order; a paused session's last words are the pending question."""
    case, journey = _journey(file, case_name)
    graph = _graph(file, case_name)
    workflows = _fixture(file).registry.values()
    inputs = {n.id for w in workflows for n in w.workflow.nodes if n.type == "input"}
    customer = [m for m in journey.transcript if m.role == "customer"]
    assert [m.node for m in customer] == _answered_inputs(graph, inputs)
    assert len(customer) <= len(case.conversation)
    assert {m.role for m in journey.transcript} <= {"agent", "customer"}
    if journey.status is RunStatus.PAUSED:
        assert journey.pause is not None
        last = journey.transcript[-1]
        assert (last.role, last.node) == ("agent", journey.pause.node)
        assert journey.said and journey.said[-1] == journey.pause.prompt


def test_conversations_exercise_the_session_round_trip() -> None:
    """Enough cases answer an input after a JSON round trip of the session for the
    persistence test above to matter."""
    answered = 0
    for param in CASES:
        file, case_name = param.values
        _, result = _journey(file, case_name)
        if any(m.role == "customer" for m in result.transcript):
            answered += 1
    assert answered >= 10
