"""The outcome and errors dimensions (compat/compare/outcome.py, errors.py) and how compare_runs and
assemble weigh every dimension into one score and one verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compat.compare import Comparison, assemble, compare_runs
from compat.compare.errors import compare_errors
from compat.compare.model import Difference, DimensionResult, Severity
from compat.compare.outcome import compare_outcome
from compat.engines import EngineRun, GraphAdapter, JourneyAdapter, run_engine
from compat.tolerances import Tolerances
from engines.documents import load_fixture
from engines.result import NodeError, PauseInfo, RunResult, TraceEvent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

TRACE = (
    TraceEvent(seq=0, kind="started", node="a"),
    TraceEvent(seq=1, kind="completed", node="a"),
)


def result(status: str = "completed", **fields: Any) -> RunResult:
    fields.setdefault("trace", TRACE)
    return RunResult(engine="hand", workflow_id="wf", status=status, **fields)


def engine_run(status: str = "completed", engine: str = "hand", **fields: Any) -> EngineRun:
    return EngineRun(engine=engine, status=status, result=result(status, **fields))


def no_result(status: str) -> EngineRun:
    return EngineRun(engine="broken", status=status, error="RuntimeError: lost the plan")


def compare(primary: EngineRun, shadow: EngineRun, **tolerances: Any) -> Comparison:
    return compare_runs(primary, shadow, None, Tolerances(**tolerances))


def errors(
    primary: tuple[NodeError, ...] = (),
    shadow: tuple[NodeError, ...] = (),
    primary_routed: dict[str, NodeError] | None = None,
    shadow_routed: dict[str, NodeError] | None = None,
    **tolerances: Any,
) -> DimensionResult:
    return compare_errors(
        primary,
        shadow,
        primary_routed or {},
        shadow_routed or {},
        Tolerances(**tolerances),
        weight=0.15,
    )


def err(node: str, code: str, message: str = "") -> NodeError:
    return NodeError(node=node, code=code, message=message)


def run_fixture(name: str, case: str, engine: Any, conversation: Any = None) -> EngineRun:
    fixture = load_fixture(FIXTURES / f"{name}.yaml")
    c = fixture.case(case)
    talk = c.conversation if conversation is None else conversation
    return run_engine(engine, fixture.registry, c.inputs, talk)


# --------------------------------------------------------------------------- outcome


def test_equal_runs_are_compatible_with_score_one() -> None:
    same = dict(outputs={"x": 1}, vars={"v": 2}, node_outputs={"a": 1})
    comparison = compare(engine_run(**same), engine_run(**same))
    assert comparison.compatible is True
    assert comparison.score == 1.0
    assert comparison.differences == () and comparison.worst is None
    assert [d.name for d in comparison.dimensions] == [
        "outcome",
        "outputs",
        "context",
        "trace",
        "errors",
    ]


def test_a_status_mismatch_is_critical_even_when_all_else_matches() -> None:
    comparison = compare(engine_run("completed"), engine_run("failed"), threshold=0.5)
    [diff] = comparison.dimension("outcome").differences
    assert (diff.kind, diff.path, diff.primary, diff.shadow) == (
        "status",
        "status",
        "completed",
        "failed",
    )
    assert diff.severity is Severity.CRITICAL
    assert comparison.dimension("outcome").score == 0.0
    assert comparison.score == pytest.approx(0.70)  # the other dimensions all match
    assert comparison.score >= 0.5  # above the threshold, and still:
    assert comparison.compatible is False
    assert comparison.worst == diff
    assert comparison.differing_dimensions() == ("outcome",)


@pytest.mark.parametrize("harness_status", ["crashed", "timed_out"])
def test_a_run_without_result_is_critical_and_the_rest_has_no_result(harness_status: str) -> None:
    comparison = compare(engine_run(), no_result(harness_status))
    outcome = comparison.dimension("outcome")
    [diff] = outcome.differences
    assert diff.kind == harness_status
    assert diff.path == "status.shadow"
    assert diff.severity is Severity.CRITICAL
    assert outcome.score == 0.0
    for name in ("outputs", "context", "trace", "errors"):
        dimension = comparison.dimension(name)
        assert dimension.score == 0.0
        assert [d.kind for d in dimension.differences] == ["no_result"]
    assert comparison.score == 0.0
    assert comparison.compatible is False
    # On the primary side too, and on both: one critical difference per side.
    flipped = compare(no_result(harness_status), engine_run()).dimension("outcome")
    assert [(d.path, d.kind) for d in flipped.differences] == [("status.primary", harness_status)]
    both = compare(no_result("crashed"), no_result("timed_out")).dimension("outcome")
    assert [(d.path, d.kind) for d in both.differences] == [
        ("status.primary", "crashed"),
        ("status.shadow", "timed_out"),
    ]


def test_a_real_crashing_engine_is_critical() -> None:
    class Crashing:
        name = "crashing"

        def run_case(self, registry: Any, inputs: Any, conversation: Any, **_: Any) -> Any:
            raise RuntimeError("engine bug")

    graph = run_fixture("sequence_basics", "int-input", GraphAdapter())
    crashed = run_fixture("sequence_basics", "int-input", Crashing())
    assert (crashed.status, crashed.result) == ("crashed", None)
    comparison = compare(graph, crashed)
    assert comparison.worst is not None and comparison.worst.kind == "crashed"
    assert comparison.compatible is False


def test_pause_point_mismatch() -> None:
    ask = PauseInfo(node="ask_name", prompt="Name?", schema={"type": "string"})
    other = PauseInfo(node="ask_color", prompt="Colour?")
    outcome = compare_outcome("paused", "paused", ask, other, weight=0.3)
    [diff] = outcome.differences
    assert (diff.kind, diff.path, diff.severity) == ("pause", "pause", Severity.HIGH)
    assert diff.primary["node"] == "ask_name" and diff.shadow["node"] == "ask_color"
    assert diff.primary["schema"] == {"type": "string"}
    assert outcome.score == 0.5
    assert compare_outcome("paused", "paused", ask, ask, weight=0.3).differences == ()
    # Same node, another prompt: still another pause.
    reworded = ask.model_copy(update={"prompt": "Your name?"})
    assert compare_outcome("paused", "paused", ask, reworded, weight=0.3).score == 0.5
    # Not critical: under the threshold policy the score decides; under equivalence (the
    # default) any difference is incompatible, whatever its severity.
    primary, shadow = engine_run("paused", pause=ask), engine_run("paused", pause=other)
    assert compare(primary, shadow).score == pytest.approx(1 - 0.3 * 0.5)
    assert compare(primary, shadow).compatible is False
    assert compare(primary, shadow, threshold=0.85).compatible is False
    assert compare(primary, shadow, policy="threshold", threshold=0.85).compatible is True


def test_real_runs_paused_at_different_inputs() -> None:
    graph = run_fixture("conversation_sequence", "runs-out-after-one", GraphAdapter())
    journey = run_fixture("conversation_sequence", "runs-out-after-one", JourneyAdapter())
    fixture = load_fixture(FIXTURES / "conversation_sequence.yaml")
    assert compare_runs(graph, journey, fixture.workflow, Tolerances()).score == 1.0
    short = run_fixture("conversation_sequence", "no-answers", JourneyAdapter())
    comparison = compare_runs(graph, short, fixture.workflow, Tolerances())
    [pause] = comparison.dimension("outcome").differences
    assert (pause.primary["node"], pause.shadow["node"]) == ("ask_color", "ask_name")
    assert comparison.compatible is False


def test_real_runs_with_different_statuses() -> None:
    failed = run_fixture("conversation_sequence", "invalid-second-answer", GraphAdapter())
    completed = run_fixture("conversation_sequence", "two-answers", JourneyAdapter())
    comparison = compare(failed, completed)
    assert comparison.worst is not None
    assert (comparison.worst.kind, comparison.worst.severity) == ("status", Severity.CRITICAL)
    [removed] = comparison.dimension("errors").differences
    assert (removed.kind, removed.path, removed.primary) == (
        "error_removed",
        "errors.ask_color",
        "INPUT_INVALID",
    )


# --------------------------------------------------------------------------- errors


def test_errors_compared_by_node_and_code() -> None:
    assert errors((err("a", "TOOL_ERROR"),), (err("a", "TOOL_ERROR"),)).differences == ()
    moved = errors((err("a", "TOOL_ERROR"),), (err("b", "TOOL_ERROR"),))
    assert {(d.kind, d.path, d.primary, d.shadow) for d in moved.differences} == {
        ("error_removed", "errors.a", "TOOL_ERROR", None),
        ("error_added", "errors.b", None, "TOOL_ERROR"),
    }
    assert {d.severity for d in moved.differences} == {Severity.HIGH}
    assert moved.score == 0.0
    recoded = errors((err("a", "TOOL_ERROR"),), (err("a", "TIMEOUT"),))
    assert [d.kind for d in recoded.differences] == ["error_removed", "error_added"]


def test_errors_are_counted_as_a_multiset() -> None:
    twice = (err("a", "X"), err("a", "X"))
    result = errors(twice, (err("a", "X"),))
    [diff] = result.differences
    assert diff.kind == "error_removed" and "1x" in diff.note
    assert result.score == pytest.approx(1 / 2)
    # The same errors in another order: one high `reordered` difference (the contract orders
    # errors: canonical order, then compensation failures as they ran), costing half a share.
    pair = (err("a", "X"), err("b", "Y"))
    [swapped] = errors(pair, pair[::-1]).differences
    assert (swapped.kind, swapped.severity) == ("reordered", Severity.HIGH)
    assert swapped.primary == ["a:X", "b:Y"] and swapped.shadow == ["b:Y", "a:X"]
    assert errors(pair, pair[::-1]).score == pytest.approx(1 - 0.5 / 2)


def test_matched_errors_must_agree_on_attempts_path_and_cause() -> None:
    plain = (err("a", "X"),)
    retried = (NodeError(node="a", code="X", attempts=3),)
    [detail] = errors(plain, retried).differences
    # A broken contract rule is never below high.
    assert (detail.kind, detail.severity) == ("error_detail", Severity.HIGH)
    assert (detail.path, detail.primary, detail.shadow) == ("errors.a.attempts", 1, 3)
    inner = NodeError(node="L", code="X", cause=NodeError(node="body", code="E1", path=(("L", 2),)))
    other = NodeError(node="L", code="X", cause=NodeError(node="body", code="E1", path=(("L", 3),)))
    [cause] = errors((inner,), (other,)).differences
    assert cause.path == "errors.L.cause.path"
    assert (cause.primary, cause.shadow) == ([["L", 2]], [["L", 3]])
    assert errors((inner,), (inner,)).differences == ()
    # Every field of the record counts, at any depth of the cause.
    recoverable = (NodeError(node="a", code="X", recoverable=True),)
    assert [d.path for d in errors(plain, recoverable).differences] == ["errors.a.recoverable"]
    deep = NodeError(node="L", code="X", cause=inner.cause.model_copy(update={"code": "E2"}))
    assert [d.path for d in errors((inner,), (deep,)).differences] == ["errors.L.cause.code"]
    lost = NodeError(node="L", code="X")
    assert [d.path for d in errors((inner,), (lost,)).differences] == ["errors.L.cause"]


def test_error_codes_map_foreign_codes_onto_ours() -> None:
    primary, shadow = (err("a", "TOOL_ERROR"),), (err("a", "E_TOOL_FAILED"),)
    assert errors(primary, shadow).score == 0.0
    mapped = errors(primary, shadow, error_codes={"E_TOOL_FAILED": "TOOL_ERROR"})
    assert mapped.differences == () and mapped.score == 1.0
    # Mapped on either side, and in routed errors too.
    assert errors(shadow, primary, error_codes={"E_TOOL_FAILED": "TOOL_ERROR"}).score == 1.0
    routed = errors(
        primary_routed={"a": err("a", "TOOL_ERROR")},
        shadow_routed={"a": err("a", "E_TOOL_FAILED")},
        error_codes={"E_TOOL_FAILED": "TOOL_ERROR"},
    )
    assert routed.differences == ()
    # A mapping only maps what it names.
    other = errors(primary, (err("a", "E_OTHER"),), error_codes={"E_TOOL_FAILED": "TOOL_ERROR"})
    assert other.score == 0.0


def test_messages_are_compared_by_default() -> None:
    """docs/semantics.md §9: messages must be equal (engines build theirs with
    engines.failures); a foreign engine's own wording can be let through."""
    primary, shadow = (err("a", "X", "disk full"),), (err("a", "X", "no space left"),)
    result = errors(primary, shadow)
    [diff] = result.differences
    assert (diff.kind, diff.path, diff.severity) == ("message", "errors.a.message", Severity.HIGH)
    assert (diff.primary, diff.shadow) == ("disk full", "no space left")
    assert result.score == 0.0
    assert errors(primary, primary).differences == ()


def test_messages_can_be_left_out() -> None:
    primary, shadow = (err("a", "X", "disk full"),), (err("a", "X", "no space left"),)
    assert errors(primary, shadow, compare_messages=False).differences == ()
    # An ignore rule leaves out one field of the records too.
    assert errors(primary, shadow, ignore_paths=["errors.**.message"]).differences == ()


def test_messages_are_normalised_before_comparing() -> None:
    primary, shadow = (err("a", "X", "Disk  FULL\n"),), (err("a", "X", "disk full"),)
    assert errors(primary, shadow, compare_messages=True).differences != ()
    normalised = errors(
        primary, shadow, compare_messages=True, ignore_case=True, normalize_whitespace=True
    )
    assert normalised.differences == ()


def test_routed_node_errors_compared() -> None:
    same = {"fetch": err("fetch", "TIMEOUT")}
    assert errors(primary_routed=same, shadow_routed=dict(same)).score == 1.0
    only_primary = errors(primary_routed=same)
    [diff] = only_primary.differences
    assert (diff.kind, diff.path, diff.primary, diff.shadow) == (
        "routed_error",
        "errors.routed.fetch",
        "TIMEOUT",
        None,
    )
    assert only_primary.score == 0.0
    other_code = errors(primary_routed=same, shadow_routed={"fetch": err("fetch", "TOOL_ERROR")})
    assert [d.kind for d in other_code.differences] == ["routed_error"]
    # Routed errors are whole records too: message, attempts ...
    reworded = {"fetch": err("fetch", "TIMEOUT", "after 5 s")}
    [message] = errors(primary_routed=same, shadow_routed=reworded).differences
    assert message.path == "errors.routed.fetch.message"
    assert (
        errors(primary_routed=same, shadow_routed=reworded, compare_messages=False).differences
        == ()
    )
    retried = {"fetch": NodeError(node="fetch", code="TIMEOUT", attempts=2)}
    [attempts] = errors(primary_routed=same, shadow_routed=retried).differences
    assert attempts.path == "errors.routed.fetch.attempts"


def test_errors_score_combines_unhandled_and_routed() -> None:
    result = errors(
        (err("a", "X"),),
        (err("a", "X"),),
        {"r": err("r", "Y"), "s": err("s", "Y")},
        {"r": err("r", "Y")},
    )
    # Compared: one unhandled (matches), two routed nodes (one matches).
    assert result.score == pytest.approx(2 / 3)


def test_real_routed_and_unhandled_errors_agree_across_engines() -> None:
    for name, case in (
        ("error_ports", "both-routed"),
        ("tool_errors_unrouted", "crash-tool-error"),
    ):
        graph = run_fixture(name, case, GraphAdapter())
        journey = run_fixture(name, case, JourneyAdapter())
        assert graph.result is not None
        assert graph.result.errors or graph.result.node_errors  # the case really has errors
        comparison = compare(graph, journey, compare_messages=True)
        assert comparison.dimension("errors").differences == ()


# --------------------------------------------------------------------------- score


def mixed_runs() -> tuple[EngineRun, EngineRun]:
    """outcome 1, outputs 1, context 2/3 (vars.a, vars.b and the empty `nodes`: one of three
    leaves differs), trace 1, errors 0 (one routed error recoded): no critical difference, so
    the threshold decides."""
    primary = engine_run(vars={"a": 1, "b": 2}, node_errors={"r": err("r", "X")})
    shadow = engine_run(vars={"a": 1, "b": 3}, node_errors={"r": err("r", "Y")})
    return primary, shadow


def test_the_score_is_the_weighted_sum_with_default_weights() -> None:
    comparison = compare(*mixed_runs())
    scores = {d.name: d.score for d in comparison.dimensions}
    assert scores == {
        "outcome": 1.0,
        "outputs": 1.0,
        "context": pytest.approx(2 / 3),
        "trace": 1.0,
        "errors": 0.0,
    }
    weights = {d.name: d.weight for d in comparison.dimensions}
    assert weights == {
        "outcome": 0.3,
        "outputs": 0.25,
        "context": 0.15,
        "trace": 0.15,
        "errors": 0.15,
    }
    assert comparison.score == pytest.approx(0.30 + 0.25 + 0.15 * 2 / 3 + 0.15 + 0.0)
    assert comparison.compatible is False  # 0.8 < 0.95
    assert comparison.worst is not None and comparison.worst.severity is Severity.HIGH


def test_custom_weights_change_the_score() -> None:
    only_context = {"outcome": 0, "outputs": 0, "context": 1, "trace": 0, "errors": 0}
    assert compare(*mixed_runs(), weights=only_context).score == pytest.approx(2 / 3)
    only_errors = {**only_context, "context": 0, "errors": 2}
    assert compare(*mixed_runs(), weights=only_errors).score == 0.0
    # Weights need not sum to 1: they are normalised.
    doubled = {"outcome": 0.6, "outputs": 0.5, "context": 0.3, "trace": 0.3, "errors": 0.3}
    assert compare(*mixed_runs(), weights=doubled).score == pytest.approx(0.8)


def test_threshold_decides_when_nothing_is_critical_under_the_threshold_policy() -> None:
    gate = {"policy": "threshold"}
    assert compare(*mixed_runs(), threshold=0.8, **gate).compatible is True  # at the threshold
    assert compare(*mixed_runs(), threshold=0.7, **gate).compatible is True
    assert compare(*mixed_runs(), threshold=0.81, **gate).compatible is False
    assert compare(*mixed_runs(), **gate).policy == "threshold"


def test_equivalence_lets_no_difference_through_whatever_the_score() -> None:
    """The default policy is a proof: any reported difference makes the pair incompatible,
    even a single high one in a case that otherwise agrees (score 0.99)."""
    comparison = compare(*mixed_runs(), threshold=0.0)
    assert comparison.policy == "equivalence" and comparison.compatible is False
    one = engine_run(vars={f"v{i}": i for i in range(99)} | {"last": 1})
    other = engine_run(vars={f"v{i}": i for i in range(99)} | {"last": 2})
    nearly = compare(one, other)
    assert nearly.score > 0.99 and nearly.compatible is False
    assert compare(one, one).compatible is True


def dimension(
    name: str, score: float, weight: float, severity: Severity | None = None
) -> DimensionResult:
    diffs = ()
    if severity is not None:
        diffs = (Difference(dimension=name, path=name, kind="x", severity=severity),)
    return DimensionResult(name=name, score=score, weight=weight, differences=diffs)


def test_assemble_weighs_and_judges() -> None:
    tol = Tolerances(policy="threshold", threshold=0.75)
    parts = [dimension("a", 1.0, 1.0), dimension("b", 0.5, 1.0, Severity.LOW)]
    verdict = assemble(parts, tol)
    assert verdict.score == pytest.approx(0.75) and verdict.compatible is True
    assert assemble(parts, Tolerances(policy="threshold", threshold=0.76)).compatible is False
    assert assemble(parts, Tolerances(threshold=0.0)).compatible is False  # equivalence
    assert assemble([dimension("a", 0.5, 1.0)], Tolerances()).compatible is True
    critical = [dimension("a", 1.0, 1.0, Severity.CRITICAL), dimension("b", 1.0, 1.0)]
    gate = Tolerances(policy="threshold", threshold=0.0)
    assert assemble(critical, gate).compatible is False
    assert assemble(critical, gate).score == 1.0
    # Zero total weight does not divide by zero.
    assert assemble([dimension("a", 1.0, 0.0)], tol).score == 0.0
    assert assemble([], tol).dimensions == ()


def test_extra_dimensions_join_the_score() -> None:
    same = engine_run(outputs={"x": 1})
    replay = DimensionResult(
        name="replay",
        score=0.0,
        weight=1.0,
        differences=(
            Difference(dimension="replay", path="replay.a", kind="x", severity=Severity.HIGH),
        ),
    )
    comparison = compare_runs(same, same, None, Tolerances(), extra=(replay,))
    assert comparison.dimension("replay") == replay
    assert comparison.score == pytest.approx(0.5)  # default weights sum to 1, replay weighs 1
    assert comparison.differing_dimensions() == ("replay",)
    assert comparison.compatible is False
    with pytest.raises(KeyError):
        comparison.dimension("nope")
