"""Property tests of the journey engine: on random valid workflows answered by a random
conversation, the journey engine returns what the graph engine returns (docs/semantics.md §9:
status, outputs, vars, node outputs and errors, errors, pause, executed nodes and the multiset
of trace steps) — the core cross-engine property — and saving the session to JSON and
loading it into a fresh engine at every pause changes nothing at all.

The workflows, with the sub-workflows they call, and their conversations come from the
public generator, compat.fuzz, with `input` nodes enabled and at least one answer."""

from __future__ import annotations

import pytest
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
    assert loaded.journey_vars == uninterrupted.journey_vars
    # The journey's own variables: only circuit breakers' state (docs/semantics.md §7.7).
    assert all(name.startswith("breaker:") for name in loaded.journey_vars)
    # The loaded session runs on a fresh clock from 0: its times are the saved elapsed time
    # plus the new clock's, summed in another order than the uninterrupted run's (0.6 + 0.2
    # against 0.6 + 0.1 + 0.1), so they agree to the float's last digits, not bit for bit.
    assert actual.metrics.duration == pytest.approx(expected.metrics.duration, rel=0, abs=1e-9)
