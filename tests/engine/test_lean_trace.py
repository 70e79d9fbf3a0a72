"""The lean trace events (`engines.trace`) and the contract's `TraceEvent`s carry the same
data, for every case of every fixture on both engines: what a result reports cannot drift
from what the engines built, whichever form a reader asks for."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from engines.clock import VirtualClock
from engines.graph.driver import run_case as run_graph
from engines.graph.engine import GraphEngine
from engines.journey.driver import run_case as run_journey
from engines.journey.engine import JourneyEngine
from engines.result import RunResult, TraceEvent, TraceKind
from engines.tools import builtin_registry
from engines.trace import EMPTY_DETAIL, KINDS, LeanTrace, NodeEvent, lean, new_event
from tests.engine.bundled_cases import FILES, bundled, cases


def _run(engine: str, path: Path, name: str) -> RunResult:
    fixture = bundled(path)
    case = fixture.case(name)
    if engine == "graph":
        graph = GraphEngine(tools=builtin_registry(), clock=VirtualClock())
        return run_graph(graph, fixture.registry, case, roundtrip=False)
    journey = JourneyEngine(tools=builtin_registry(), clock=VirtualClock())
    return run_journey(journey, fixture.registry, case, roundtrip=False)


def _fields(event: Any) -> tuple[Any, ...]:
    return tuple(getattr(event, name) for name in TraceEvent.model_fields)


@pytest.mark.parametrize("engine", ["graph", "journey"])
@pytest.mark.parametrize(("path", "name"), cases())
def test_lean_and_pydantic_events_carry_the_same_data(engine: str, path: Path, name: str) -> None:
    result = _run(engine, path, name)
    events = result.lean_trace()
    assert type(events) is LeanTrace
    assert all(type(event) is NodeEvent for event in events)
    models = result.trace  # built now, from the lean form
    assert all(type(event) is TraceEvent for event in models)
    assert [_fields(e) for e in events] == [_fields(m) for m in models]
    # Each lean event validates as the contract's event, to an equal one.
    for event, model in zip(events, models, strict=True):
        assert TraceEvent.model_validate(event.model_dump()) == model
        assert model.step() == event.step()
        assert type(event.kind) is TraceKind and event.kind is KINDS[event.kind.value]
        assert type(model.detail) is dict and model.detail == dict(event.detail)
    # The JSON a reader gets and a result validated back from it are the same.
    text = result.model_dump_json()
    again = type(result).model_validate_json(text)
    assert again == result and again.model_dump_json() == text
    assert json.loads(text)["trace"] == [m.model_dump(mode="json") for m in models]


@pytest.mark.parametrize("engine", ["graph", "journey"])
def test_a_result_serialises_the_same_before_and_after_its_trace_is_read(engine: str) -> None:
    path, name = FILES[0], bundled(FILES[0]).cases[0].name
    untouched, touched = _run(engine, path, name), _run(engine, path, name)
    assert touched.trace  # materialised
    assert type(untouched.lean_trace()) is LeanTrace
    assert _strip(untouched.model_dump(mode="json")) == _strip(touched.model_dump(mode="json"))
    restored = pickle.loads(pickle.dumps(untouched))
    assert type(restored.lean_trace()) is LeanTrace
    assert restored.trace == untouched.trace


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    """Without the wall time, which differs between two runs."""
    data = dict(data)
    data["metrics"] = {k: v for k, v in data["metrics"].items() if k != "wall_seconds"}
    return data


def test_lean_events_share_one_read_only_empty_detail() -> None:
    event = new_event(0, TraceKind.STARTED, "a", 1, (), 0.0, None)
    assert event.detail is EMPTY_DETAIL and event.detail == {}
    with pytest.raises(TypeError, match="read-only"):
        event.detail["x"] = 1  # type: ignore[index]
    assert pickle.loads(pickle.dumps(event)).detail is EMPTY_DETAIL
    assert event.model().detail == {} and event.model().detail is not EMPTY_DETAIL


def test_lean_converts_pydantic_events_and_keeps_lean_ones() -> None:
    model = TraceEvent(seq=3, kind="failed", node="n", attempt=2, path=(("L", 1),), time=1.5,
                       detail={"code": "X"})  # fmt: skip
    (event,) = lean([model])
    assert type(event) is NodeEvent and _fields(event) == _fields(model)
    already = LeanTrace([event])
    assert lean(already) is already
