"""Property tests of the journey engine: on random valid workflows answered by a random
conversation, the journey engine returns what the graph engine returns (docs/semantics.md §9:
status, outputs, vars, node outputs and errors, errors, pause, executed nodes and the multiset
of trace steps) — the core cross-engine property — and saving the session to JSON and
loading it into a fresh engine at every pause changes nothing at all."""

from __future__ import annotations

from hypothesis import given
from journey_random import SETTINGS, Case, cases
from journey_support import converse, facts, fresh_engine, graph_converse, transcript

from engines.model import WorkflowRegistry
from engines.result import RunStatus
from engines.tools import builtin_registry


def _registry(case: Case) -> WorkflowRegistry:
    return WorkflowRegistry([case.validated], tools=builtin_registry())


@SETTINGS
@given(case=cases())
def test_the_journey_engine_gives_the_graph_engines_result(case: Case) -> None:
    registry = _registry(case)
    graph = graph_converse(registry, case.inputs, case.conversation)
    journey, _ = converse(registry, case.inputs, case.conversation)
    assert facts(journey, ordered=False) == facts(graph, ordered=False)
    assert journey.metrics.node_executions == graph.metrics.node_executions
    if journey.status is RunStatus.PAUSED:
        assert journey.said[-1] == journey.pause.prompt  # type: ignore[union-attr]


@SETTINGS
@given(case=cases())
def test_saving_the_session_at_every_pause_changes_nothing(case: Case) -> None:
    registry = _registry(case)
    expected, uninterrupted = converse(registry, case.inputs, case.conversation)
    actual, loaded = converse(registry, case.inputs, case.conversation, fresh_engine)
    assert facts(actual) == facts(expected)  # the trace in the same order, too
    assert transcript(actual) == transcript(expected)
    assert loaded.path == uninterrupted.path
    assert loaded.journey_vars == uninterrupted.journey_vars == {}
    assert actual.metrics.duration == expected.metrics.duration
