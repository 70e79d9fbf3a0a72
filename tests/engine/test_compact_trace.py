"""A quick node's two events recorded as a compact pair (`engines.trace`) give the same trace
as the events built one by one: for every case of every fixture, each engine's first turn is
run once recording compactly (nobody listening) and once with a listener (which makes the
engine build and deliver every event as it happens), and the two results must be the same —
trace, seq numbers, times, paths, metrics — and equal to what the listener received."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from engines.clock import VirtualClock, run_turn
from engines.graph.engine import GraphEngine
from engines.journey.engine import JourneyEngine
from engines.result import RunResult, TraceEvent, TraceKind
from engines.tools import builtin_registry
from engines.trace import PAIR_END, LeanTrace, NodeEvent, Recorded, expand, new_event
from tests.engine.bundled_cases import REPO, bundled, cases


def _graph_turn(path: Path, name: str, listen: bool) -> tuple[RunResult, list[Any]]:
    fixture = bundled(path)
    engine = GraphEngine(tools=builtin_registry(), clock=VirtualClock())
    execution = engine.start(fixture.registry, dict(fixture.case(name).inputs))
    heard: list[Any] = []
    if listen:
        execution.subscribe(heard.append, models=False)
    return run_turn(engine.clock, execution.run), heard


def _journey_turn(path: Path, name: str, listen: bool) -> tuple[RunResult, list[Any]]:
    fixture = bundled(path)
    engine = JourneyEngine(tools=builtin_registry(), clock=VirtualClock())
    session = engine.start_session(fixture.registry, dict(fixture.case(name).inputs))
    heard: list[Any] = []
    if listen:  # what a sub-journey's parent does: every event forwarded as it happens
        session._forward = heard.append
    return engine.clock.run(session.start), heard


def _comparable(result: RunResult) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    data["metrics"] = {k: v for k, v in data["metrics"].items() if k != "wall_seconds"}
    return data


@pytest.mark.parametrize("engine", ["graph", "journey"])
@pytest.mark.parametrize(("path", "name"), cases())
def test_compact_pairs_give_the_events_built_one_by_one(engine: str, path: Path, name: str) -> None:
    turn = _graph_turn if engine == "graph" else _journey_turn
    compact, _ = turn(path, name, listen=False)
    full, heard = turn(path, name, listen=True)
    assert compact.lean_trace() == full.lean_trace()
    assert _comparable(compact) == _comparable(full)
    node_events = [event for event in heard if type(event) is NodeEvent]
    assert tuple(node_events) == tuple(full.lean_trace())
    assert compact.metrics.node_executions == sum(
        1 for event in full.lean_trace() if event.kind is TraceKind.STARTED
    )


def test_a_pair_expands_to_its_two_events_at_its_slots() -> None:
    failed = new_event(3, TraceKind.FAILED, "c", 2, (), 1.5, {"code": "X"})
    slots = ["execution.started", ("a", (), 0.5), PAIR_END, failed, ("b", (("L", 1),), 2.0)]
    slots.append(PAIR_END)
    events = expand(slots)
    assert type(events) is LeanTrace
    assert [tuple(e) for e in events] == [
        tuple(new_event(1, TraceKind.STARTED, "a", 1, (), 0.5, None)),
        tuple(new_event(2, TraceKind.COMPLETED, "a", 1, (), 0.5, None)),
        tuple(failed),
        tuple(new_event(4, TraceKind.STARTED, "b", 1, (("L", 1),), 2.0, None)),
        tuple(new_event(5, TraceKind.COMPLETED, "b", 1, (("L", 1),), 2.0, None)),
    ]
    for framing in (0, 1):  # with the execution event's slot counted or not
        recorded = Recorded(slots, framing=framing)
        assert recorded.started() == 2
        assert pickle.loads(pickle.dumps(recorded)).lean() == events
    only_pairs = Recorded(["execution.started", ("a", (), 0.0), PAIR_END], framing=1)
    assert only_pairs.started() == 1
    started = new_event(0, TraceKind.STARTED, "s", 1, (), 0.0, None)
    assert Recorded([started, ("a", (), 0.0), PAIR_END]).started() == 2


@pytest.mark.parametrize("engine", ["graph", "journey"])
def test_a_result_keeps_the_recorded_form_until_read_and_pickles_it(engine: str) -> None:
    path = REPO / "fixtures" / "sequence_basics.yaml"
    name = bundled(path).cases[0].name
    turn = _graph_turn if engine == "graph" else _journey_turn
    result, _ = turn(path, name, listen=False)
    assert type(result.__dict__["trace"]) is Recorded  # nothing built yet
    restored = pickle.loads(pickle.dumps(result))
    assert type(restored.__dict__["trace"]) is Recorded
    assert all(type(event) is TraceEvent for event in restored.trace)
    assert restored.trace == result.trace
    assert restored.model_dump_json() == result.model_dump_json()
