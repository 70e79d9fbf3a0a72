"""The harness against the engines' own equivalence: on random valid workflows with random
conversations (and cancels), the graph and journey engines' runs compare as compatible with
score 1.0 — so every difference the harness reports elsewhere is a real one, not an artefact
of legal concurrency or of when an engine learns of a failure. The examples come from the
public generator, compat.fuzz, with every feature drawn."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from compat.compare import compare_runs
from compat.engines import GraphAdapter, JourneyAdapter, run_engine
from compat.fuzz import Example, examples
from compat.tolerances import Tolerances
from engines.model import WorkflowRegistry, validate_workflow
from engines.tools import builtin_registry


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(example=examples(min_answers=1))
def test_random_workflows_compare_compatible_on_both_engines(example: Example) -> None:
    registry, case = example.generated.registry, example.case
    graph = run_engine(GraphAdapter(), registry, case.inputs, case.conversation, cancel=case.cancel)
    journey = run_engine(
        JourneyAdapter(), registry, case.inputs, case.conversation, cancel=case.cancel
    )
    comparison = compare_runs(graph, journey, registry.main, Tolerances())
    assert comparison.compatible and comparison.score == 1.0, comparison.differences


GIVEN_UP = {
    "id": "given_up",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "slow", "type": "tool", "params": {"tool": "sleep", "args": {"seconds": 1}}},
        {"id": "bad", "type": "transform", "params": {"value": "{{ 1 // inputs.zero }}"}},
        {"id": "after_bad", "type": "transform", "params": {"value": 1}},
        {"id": "join", "type": "end"},
    ],
    "edges": [
        {"source": "start", "target": "slow"},
        {"source": "start", "target": "bad"},
        {"source": "bad", "target": "after_bad"},
        {"source": "slow", "target": "join"},
        {"source": "after_bad", "target": "join"},
    ],
}


def test_a_skip_given_up_by_a_failure_has_no_edge_order() -> None:
    """`join` is skipped (upstream_failed) once `bad` fails; whether an engine records that
    before or after `slow` completes is its own business (docs/semantics.md §7.7)."""
    validated = validate_workflow(GIVEN_UP)
    registry = WorkflowRegistry([validated], tools=builtin_registry())
    graph = run_engine(GraphAdapter(), registry, {"zero": 0}, ())
    assert graph.result is not None
    events = [(e.node, e.kind.value) for e in graph.result.trace]
    assert ("join", "skipped") in events
    # Reorder the primary's trace so `join`'s skip comes before `slow` completes: still
    # the same run as far as the contract goes.
    trace = list(graph.result.trace)
    skip = next(e for e in trace if e.node == "join")
    trace.remove(skip)
    first_slow = next(i for i, e in enumerate(trace) if e.node == "slow")
    trace.insert(first_slow, skip)
    moved = graph.model_copy(update={"result": graph.result.model_copy(update={"trace": trace})})
    comparison = compare_runs(graph, moved, validated, Tolerances())
    assert comparison.score == 1.0, comparison.differences
    # but a node that *ran* before its predecessor settled is a critical reordering
    ran = list(graph.result.trace)
    first = [e for e in ran if e.node == "start"]
    for event in first:
        ran.remove(event)
    ran += first  # `slow` now starts before `start` settled
    broken = graph.model_copy(update={"result": graph.result.model_copy(update={"trace": ran})})
    reordered = compare_runs(graph, broken, validated, Tolerances()).dimension("trace")
    assert any(
        d.kind == "reordered" and d.severity.value == "critical" for d in reordered.differences
    )
