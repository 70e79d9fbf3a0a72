"""Compile once, run anywhere: an engine's `with_clock` twin shares its compiled plans or
journeys, and the harness's adapters compile a workflow once however many threads run it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compat.engines import GraphAdapter, JourneyAdapter, run_engine
from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.graph import GraphEngine
from engines.journey import JourneyEngine

FIXTURES = Path(__file__).parent.parent / "fixtures"
FIXTURE = load_fixture(FIXTURES / "wait_and_timeout.yaml")
OTHER = load_fixture(FIXTURES / "sequence_basics.yaml")


def compiled(engine: Any, workflow: Any) -> Any:
    return engine.plan(workflow) if isinstance(engine, GraphEngine) else engine.blueprint(workflow)


@pytest.mark.parametrize("kind", [GraphEngine, JourneyEngine])
def test_a_twin_shares_compiled_workflows_but_keeps_its_own_clock(kind: type) -> None:
    engine = kind(clock=VirtualClock())
    workflow = FIXTURE.workflow
    first = compiled(engine, workflow)
    twin = engine.with_clock(VirtualClock(100.0))
    assert twin.clock is not engine.clock and type(twin) is kind
    assert compiled(twin, workflow) is first
    case = FIXTURE.cases[0]
    alone = engine.run(workflow, case.inputs)
    by_twin = twin.run(workflow, case.inputs)
    assert by_twin.outputs == alone.outputs and by_twin.trace == alone.trace
    assert engine.clock.now() == alone.metrics.duration  # the twin's run left it alone
    assert twin.clock.now() == 100.0 + by_twin.metrics.duration
    other = OTHER.workflow  # compiled first by the twin: the original finds it compiled
    assert compiled(twin, other) is compiled(engine, other)


@pytest.mark.parametrize(
    ("adapter", "module", "name"),
    [
        (GraphAdapter, "engines.graph.engine", "ExecutionPlan"),
        (JourneyAdapter, "engines.journey.engine", "Blueprint"),
    ],
)
def test_an_adapter_compiles_once_across_threads(
    adapter: type, module: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = getattr(__import__(module, fromlist=[name]), name)
    built: list[Any] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(f"{module}.{name}", counting)
    engine = adapter()
    case = FIXTURE.cases[0]
    runs = [run_engine(engine, FIXTURE.registry, case.inputs, case.conversation) for _ in range(4)]
    assert {run.result.status for run in runs if run.result} == {runs[0].result.status}
    assert all(run.result is not None for run in runs)
    assert len(built) == 1  # each run_engine call is a thread of its own
    assert len({run.result.metrics.duration for run in runs if run.result}) == 1
