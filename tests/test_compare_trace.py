"""The trace dimension (compat/compare/trace.py): a partial order. Same multiset of steps
(node, iteration path, attempt, kind); the orders the workflow imposes must hold in both;
legal concurrency is never a difference."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from conftest import end, loop_for, parallel_count, start, transform, valid, workflow

from compat.compare import compare_runs
from compat.compare.model import DimensionResult, Severity
from compat.compare.trace import compare_traces
from compat.engines import EngineRun, GraphAdapter, JourneyAdapter, run_engine
from compat.tolerances import Tolerances
from engines.documents import load_fixture
from engines.model import ValidatedWorkflow, WorkflowRegistry
from engines.result import TraceEvent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

#: start -> a, start -> b (concurrent), a/b -> join -> loop L (2 iterations: ls -> lx)
#: -> parallel P (2 branches: ps -> px) -> end.
WORKFLOW: ValidatedWorkflow = valid(
    workflow(
        [
            start(),
            transform("a"),
            transform("b"),
            transform("join"),
            loop_for("L", 2),
            start("ls", parent="L"),
            transform("lx", parent="L"),
            parallel_count("P", 2),
            start("ps", parent="P"),
            transform("px", parent="P"),
            end(),
        ],
        [
            "start -> a",
            "start -> b",
            "a -> join",
            "b -> join",
            "join -> L",
            "L -> P",
            "P -> end",
            "ls -> lx",
            "ps -> px",
        ],
    )
)

Step = tuple[str, tuple[tuple[str, int], ...], int, str]


def run(node: str, *path: tuple[str, int], attempt: int = 1) -> list[Step]:
    """A node execution that starts and completes."""
    return [(node, tuple(path), attempt, "started"), (node, tuple(path), attempt, "completed")]


def events(steps: Iterable[Step], **extra: Any) -> tuple[TraceEvent, ...]:
    return tuple(
        TraceEvent(seq=i, node=n, path=p, attempt=a, kind=k, **extra)
        for i, (n, p, a, k) in enumerate(steps)
    )


def iteration(container: str, index: int, first: str, second: str) -> list[Step]:
    where = (container, index)
    return run(first, where) + run(second, where)


#: The trace the graph engine gives for WORKFLOW (checked below), as steps.
CANONICAL: list[Step] = [
    *run("start"),
    *run("a"),
    *run("b"),
    *run("join"),
    ("L", (), 1, "started"),
    *iteration("L", 0, "ls", "lx"),
    *iteration("L", 1, "ls", "lx"),
    ("L", (), 1, "completed"),
    ("P", (), 1, "started"),
    *iteration("P", 0, "ps", "px"),
    *iteration("P", 1, "ps", "px"),
    ("P", (), 1, "completed"),
    *run("end"),
]


def trace(
    primary: Iterable[Step], shadow: Iterable[Step], wf: ValidatedWorkflow | None = WORKFLOW
) -> DimensionResult:
    return compare_traces(events(primary), events(shadow), wf, weight=0.15)


def moved(steps: list[Step], step: Step, before: Step) -> list[Step]:
    """`steps` with `step` moved to just before `before`."""
    out = [s for s in steps if s != step]
    out.insert(out.index(before), step)
    return out


def test_the_canonical_trace_is_what_an_engine_gives() -> None:
    result = run_engine(GraphAdapter(), WorkflowRegistry([WORKFLOW]), {}, ())
    assert result.result is not None
    assert sorted(e.step() for e in result.result.trace) == sorted(CANONICAL)


def test_identical_traces_score_one() -> None:
    result = trace(CANONICAL, list(CANONICAL))
    assert result.score == 1.0
    assert result.differences == ()
    assert (result.name, result.weight) == ("trace", 0.15)


def test_time_seq_and_detail_are_not_compared() -> None:
    primary = events(CANONICAL)
    shadow = tuple(
        TraceEvent(
            seq=10 * e.seq + 7,
            node=e.node,
            path=e.path,
            attempt=e.attempt,
            kind=e.kind,
            time=3.5,
            detail={"whatever": e.seq},
        )
        for e in primary
    )
    assert compare_traces(primary, shadow, WORKFLOW, weight=1).differences == ()


# --------------------------------------------------------------------------- legal concurrency


def test_concurrent_branches_may_interleave_in_any_way() -> None:
    a_started, b_started = ("a", (), 1, "started"), ("b", (), 1, "started")
    a_completed = ("a", (), 1, "completed")
    # a and b interleave: a starts, b starts and completes, then a completes.
    interleaved = moved(
        moved(CANONICAL, b_started, a_completed), ("b", (), 1, "completed"), a_completed
    )
    assert interleaved.index(b_started) > interleaved.index(a_started)
    assert interleaved != CANONICAL
    assert trace(CANONICAL, interleaved).differences == ()
    # b wholly before a.
    b_first = moved(moved(CANONICAL, b_started, a_started), ("b", (), 1, "completed"), a_started)
    assert trace(CANONICAL, b_first).differences == ()


def test_parallel_branches_may_run_in_any_order() -> None:
    branch0, branch1 = iteration("P", 0, "ps", "px"), iteration("P", 1, "ps", "px")
    start_p = CANONICAL.index(("P", (), 1, "started")) + 1
    swapped = CANONICAL[:start_p] + branch1 + branch0 + CANONICAL[start_p + 8 :]
    assert sorted(swapped) == sorted(CANONICAL) and swapped != CANONICAL
    assert trace(CANONICAL, swapped).score == 1.0
    # Branches interleaved step by step.
    zipped = [s for pair in zip(branch0, branch1, strict=True) for s in pair]
    interleaved = CANONICAL[:start_p] + zipped + CANONICAL[start_p + 8 :]
    assert trace(CANONICAL, interleaved).differences == ()


def test_real_engines_with_different_interleavings_agree() -> None:
    fixture = load_fixture(FIXTURES / "parallel_modes.yaml")
    case = fixture.cases[0]
    graph = run_engine(GraphAdapter(), fixture.registry, case.inputs, case.conversation)
    journey = run_engine(JourneyAdapter(), fixture.registry, case.inputs, case.conversation)
    assert graph.result is not None and journey.result is not None
    left = [e.step() for e in graph.result.trace]
    right = [e.step() for e in journey.result.trace]
    assert left != right and sorted(left) == sorted(right)  # really interleaved differently
    result = compare_traces(graph.result.trace, journey.result.trace, fixture.workflow, weight=1)
    assert result.differences == ()
    assert result.score == 1.0


@pytest.mark.parametrize(
    ("name", "case"),
    [
        ("loop_modes", 0),
        ("retries", 0),
        ("subworkflow", 0),
        ("saga_compensation", 2),
        ("nested_containers", 0),
    ],
)
def test_real_engines_agree_on_fixture_traces(name: str, case: int) -> None:
    fixture = load_fixture(FIXTURES / f"{name}.yaml")
    c = fixture.cases[case]
    graph = run_engine(GraphAdapter(), fixture.registry, c.inputs, c.conversation)
    journey = run_engine(JourneyAdapter(), fixture.registry, c.inputs, c.conversation)
    comparison = compare_runs(graph, journey, fixture.workflow, Tolerances())
    assert comparison.dimension("trace").differences == ()


# --------------------------------------------------------------------------- steps


def test_a_missing_step() -> None:
    shadow = [s for s in CANONICAL if s != ("end", (), 1, "completed")]
    result = trace(CANONICAL, shadow)
    [diff] = result.differences
    assert diff.kind == "missing_step"
    assert diff.path == "trace.end.completed#1"
    assert (diff.primary, diff.shadow) == (1, 0)
    assert diff.severity is Severity.HIGH
    assert result.score == pytest.approx(1 - 1 / len(CANONICAL))


def test_an_extra_step_with_its_path() -> None:
    inner = ("lx", (("L", 1),), 1, "completed")
    shadow = [*CANONICAL[:-2], ("px", (("P", 2),), 1, "started"), *CANONICAL[-2:]]
    [diff] = trace(CANONICAL, shadow).differences
    assert diff.kind == "extra_step"
    assert diff.path == "trace.px[P#2].started#1"
    assert (diff.primary, diff.shadow) == (0, 1)
    # A step repeated counts as extra too: the traces are multisets.
    doubled = list(CANONICAL)
    doubled.insert(doubled.index(inner), inner)
    [diff] = trace(CANONICAL, doubled).differences
    assert (diff.kind, diff.path, diff.primary, diff.shadow) == (
        "extra_step",
        "trace.lx[L#1].completed#1",
        1,
        2,
    )


def test_retry_attempts_are_counted() -> None:
    retried = [
        ("a", (), 1, "started"),
        ("a", (), 1, "retrying"),
        ("a", (), 2, "started"),
        ("a", (), 2, "completed"),
    ]
    at = CANONICAL.index(("a", (), 1, "started"))
    primary = CANONICAL[:at] + retried + CANONICAL[at + 2 :]
    # The shadow succeeds at once: attempt 1 completes, no attempt 2.
    result = trace(primary, CANONICAL)
    assert {(d.kind, d.path) for d in result.differences} == {
        ("missing_step", "trace.a.retrying#1"),
        ("missing_step", "trace.a.started#2"),
        ("missing_step", "trace.a.completed#2"),
        ("extra_step", "trace.a.completed#1"),
    }
    # Same kinds, one more attempt: the attempt numbers tell them apart.
    third = [
        *retried[:3],
        ("a", (), 2, "retrying"),
        ("a", (), 3, "started"),
        ("a", (), 3, "completed"),
    ]
    shadow = CANONICAL[:at] + third + CANONICAL[at + 2 :]
    assert {(d.kind, d.path) for d in trace(primary, shadow).differences} == {
        ("missing_step", "trace.a.completed#2"),
        ("extra_step", "trace.a.retrying#2"),
        ("extra_step", "trace.a.started#3"),
        ("extra_step", "trace.a.completed#3"),
    }
    assert trace(primary, list(primary)).differences == ()


# --------------------------------------------------------------------------- orders


def test_a_descendant_before_its_ancestor_settles_is_reordered() -> None:
    # join starts and completes while b (one of its predecessors) is still running.
    shadow = moved(CANONICAL, ("join", (), 1, "started"), ("b", (), 1, "completed"))
    shadow = moved(shadow, ("join", (), 1, "completed"), ("b", (), 1, "completed"))
    result = trace(CANONICAL, shadow)
    [diff] = result.differences
    assert diff.kind == "reordered"
    assert diff.path == "trace.join"
    assert diff.severity is Severity.CRITICAL  # a broken workflow order breaks the contract
    assert (diff.primary, diff.shadow) == (["b"], ["join"])
    assert "(edge)" in diff.note
    # Either side may be the one out of order.
    assert [d.kind for d in trace(shadow, CANONICAL).differences] == ["reordered"]
    # Before both predecessors settle: one difference per edge.
    early = moved(CANONICAL, ("join", (), 1, "started"), ("a", (), 1, "completed"))
    early = moved(early, ("join", (), 1, "completed"), ("a", (), 1, "completed"))
    assert sorted(d.primary[0] for d in trace(CANONICAL, early).differences) == ["a", "b"]
    # Without the workflow only the multiset and each execution's own order are known.
    assert trace(CANONICAL, shadow, wf=None).differences == ()


def test_an_executions_own_steps_out_of_order() -> None:
    shadow = moved(CANONICAL, ("b", (), 1, "completed"), ("b", (), 1, "started"))
    [diff] = trace(CANONICAL, shadow, wf=None).differences
    assert (diff.kind, diff.path) == ("reordered", "trace.b")
    assert diff.primary == [(1, "started"), (1, "completed")]
    assert diff.shadow == [(1, "completed"), (1, "started")]


def test_loop_iterations_out_of_order() -> None:
    first, second = iteration("L", 0, "ls", "lx"), iteration("L", 1, "ls", "lx")
    at = CANONICAL.index(("L", (), 1, "started")) + 1
    swapped = CANONICAL[:at] + second + first + CANONICAL[at + 8 :]
    assert sorted(swapped) == sorted(CANONICAL)
    result = trace(CANONICAL, swapped)
    [diff] = result.differences
    assert diff.kind == "reordered"
    assert diff.path == "trace.L iteration 1"
    assert "(iteration)" in diff.note
    # One step of iteration 1 before the last of iteration 0 is enough.
    overlap = moved(
        CANONICAL, ("ls", (("L", 1),), 1, "started"), ("lx", (("L", 0),), 1, "completed")
    )
    assert [d.path for d in trace(CANONICAL, overlap).differences] == ["trace.L iteration 1"]


def test_a_body_step_outside_its_container_is_reordered() -> None:
    # A parallel branch step before the parallel node started.
    shadow = moved(CANONICAL, ("ps", (("P", 0),), 1, "started"), ("P", (), 1, "started"))
    shadow = moved(shadow, ("ps", (("P", 0),), 1, "completed"), ("P", (), 1, "started"))
    assert [(d.kind, d.path) for d in trace(CANONICAL, shadow).differences] == [
        ("reordered", "trace.P")
    ]
    # A loop body step after the loop completed.
    late = [s for s in CANONICAL if s != ("lx", (("L", 1),), 1, "completed")]
    late.insert(late.index(("L", (), 1, "completed")) + 1, ("lx", (("L", 1),), 1, "completed"))
    assert [(d.kind, d.path) for d in trace(CANONICAL, late).differences] == [
        ("reordered", "trace.L")
    ]


def test_compensations_in_the_wrong_order() -> None:
    def compensated(*nodes: str) -> list[Step]:
        return [(n, (), 1, "compensated") for n in nodes]

    primary = CANONICAL + compensated("b", "a")
    result = trace(primary, CANONICAL + compensated("a", "b"))
    [diff] = result.differences
    assert (diff.kind, diff.path) == ("reordered", "trace.compensations")
    assert (diff.primary, diff.shadow) == (["b", "a"], ["a", "b"])
    # Compensation runs after the rest of the run (§7.8, "after quiescence"): one that
    # comes before the run's other work is over breaks an order the contract imposes.
    early = CANONICAL[:-2] + compensated("b", "a") + CANONICAL[-2:]
    [after] = trace(primary, early).differences
    assert (after.kind, after.path, after.severity) == (
        "reordered",
        "trace.compensations.after",
        Severity.CRITICAL,
    )
    # A missing compensation is a missing step.
    [missing] = trace(primary, CANONICAL + compensated("b")).differences
    assert (missing.kind, missing.path) == ("missing_step", "trace.a.compensated#1")


def test_compensation_order_of_a_real_saga() -> None:
    fixture = load_fixture(FIXTURES / "saga_compensation.yaml")
    case = fixture.case("failed-compensations-appended")
    graph = run_engine(GraphAdapter(), fixture.registry, case.inputs, case.conversation)
    assert graph.result is not None
    trace_ = graph.result.trace
    done = [e for e in trace_ if e.kind == "compensated"]
    assert [e.node for e in done] == ["audit", "insure", "reserve_hotel", "reserve_flight"]
    rest = [e for e in trace_ if e.kind != "compensated"]
    reversed_ = tuple(rest + done[::-1])
    result = compare_traces(trace_, reversed_, fixture.workflow, weight=1)
    assert [(d.kind, d.path) for d in result.differences] == [("reordered", "trace.compensations")]
    shadow = EngineRun(
        engine="journey",
        status=graph.status,
        result=graph.result.model_copy(update={"trace": reversed_}),
    )
    comparison = compare_runs(graph, shadow, fixture.workflow, Tolerances())
    assert comparison.differing_dimensions() == ("trace",)
    assert comparison.dimension("trace").score < 1


def test_score_counts_differences_against_distinct_steps() -> None:
    shadow = [s for s in CANONICAL if s[0] != "end"] + [("extra", (), 1, "started")]
    result = trace(CANONICAL, shadow)
    # Two missing (end started/completed), one extra; distinct steps: 30 + 1.
    assert len(result.differences) == 3
    assert result.score == pytest.approx(1 - 3 / (len(CANONICAL) + 1))
    assert trace([], []).score == 1.0
