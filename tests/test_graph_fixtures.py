"""Every fixture case runs on the graph engine and matches its golden answer; running a case
with a JSON snapshot round trip at every pause gives exactly the result of running it in one
process (docs/semantics.md §7.10, fixtures/README.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engines.clock import VirtualClock
from engines.documents import Case, Fixture, load_fixture
from engines.graph.driver import run_case
from engines.graph.engine import GraphEngine
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
    params = []
    for path in FILES:
        for case in _fixture(path.name).cases:
            params.append(pytest.param(path.name, case.name, id=f"{path.name}::{case.name}"))
    return params


CASES = _cases()


def _run(file: str, case_name: str, *, roundtrip: bool) -> tuple[Case, RunResult]:
    fixture = _fixture(file)
    case = fixture.case(case_name)
    engine = GraphEngine(tools=builtin_registry(), clock=VirtualClock())
    return case, run_case(engine, fixture.registry, case, roundtrip=roundtrip)


def test_the_fixture_folder_holds_every_case() -> None:
    assert len(FILES) >= 30
    assert len(CASES) >= 142
    assert len({p.id for p in CASES}) == len(CASES)


@pytest.mark.parametrize(("file", "case_name"), CASES)
def test_case_matches_its_golden_answer(file: str, case_name: str) -> None:
    case, result = _run(file, case_name, roundtrip=True)
    expect = case.expect
    assert expect is not None and expect.status is not None
    assert result.engine == "graph"
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


def _comparable(result: RunResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "outputs": result.outputs,
        "vars": result.vars,
        "node_outputs": result.node_outputs,
        "node_errors": result.node_errors,
        "errors": result.errors,
        "pause": result.pause,
        "steps": [event.step() for event in result.trace],
        "node_executions": result.metrics.node_executions,
        # A restored execution continues the same stream and the same timeline.
        "events": [(event.seq, event.time, event.detail) for event in result.trace],
        "duration": result.metrics.duration,
    }


@pytest.mark.parametrize(("file", "case_name"), CASES)
def test_snapshot_round_trip_changes_nothing(file: str, case_name: str) -> None:
    _, with_snapshots = _run(file, case_name, roundtrip=True)
    _, in_process = _run(file, case_name, roundtrip=False)
    assert _comparable(with_snapshots) == _comparable(in_process)


def test_conversations_exercise_the_round_trip() -> None:
    """Enough cases answer an input after a snapshot round trip for the test above to matter."""
    answered = 0
    for param in CASES:
        file, case_name = param.values
        workflow = _fixture(file).workflow
        inputs = {n.id for n in workflow.workflow.nodes if n.type == "input"}
        _, result = _run(file, case_name, roundtrip=True)
        if any(e.node in inputs and e.kind in ("completed", "failed") for e in result.trace):
            answered += 1
    assert answered >= 10
