"""Property tests of the journey engine: on random valid workflows answered by a random
conversation, the journey engine returns what the graph engine returns (docs/semantics.md §9:
status, outputs, vars, node outputs and errors, errors, pause, executed nodes and the multiset
of trace steps) — the core cross-engine property — and saving the session to JSON and
loading it into a fresh engine at every pause changes nothing at all.

The workflows, with the sub-workflows they call, and their conversations come from the
public generator, compat.fuzz, with `input` nodes enabled and at least one answer."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from journey_support import converse, facts, fresh_engine, graph_converse, transcript

from compat.fuzz import Example, examples
from engines.result import RunStatus

SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(example=examples(features="+input,-cancel", min_answers=1))
def test_the_journey_engine_gives_the_graph_engines_result(example: Example) -> None:
    registry, case = example.generated.registry, example.case
    graph = graph_converse(registry, case.inputs, case.conversation)
    journey, _ = converse(registry, case.inputs, case.conversation)
    assert facts(journey, ordered=False) == facts(graph, ordered=False)
    assert journey.metrics.node_executions == graph.metrics.node_executions
    if journey.status is RunStatus.PAUSED:
        assert journey.said[-1] == journey.pause.prompt  # type: ignore[union-attr]


@SETTINGS
@given(example=examples(features="+input", min_answers=1))
def test_saving_the_session_at_every_pause_changes_nothing(example: Example) -> None:
    registry, case = example.generated.registry, example.case
    # `converse` cancels a paused session; a cancel at a clock time is not a session's
    cancel = case.cancel if case.cancel is not None and case.cancel.when == "paused" else None
    expected, uninterrupted = converse(registry, case.inputs, case.conversation, cancel=cancel)
    actual, loaded = converse(registry, case.inputs, case.conversation, fresh_engine, cancel=cancel)
    assert facts(actual) == facts(expected)  # the trace in the same order, too
    assert transcript(actual) == transcript(expected)
    assert loaded.path == uninterrupted.path
    assert loaded.journey_vars == uninterrupted.journey_vars == {}
    assert actual.metrics.duration == expected.metrics.duration
