"""Primary/shadow experiments (compat.shadow, docs/shadow.md) hold to Scientist's behaviours:
the caller always gets the primary's value or its very exception, whatever the shadow does;
hooks that raise are reported and count as False; results are immutable; sampling, run_if
and before_run decide exactly when the shadow runs. Real engines (graph vs journey on a
fixture) and small engines written in tests/shadow_support.py; no mocks.

Nothing here depends on the machine's speed: checks rest on counts, events and the order
of things, and every wait is bounded by `WAIT` only to end a test that hangs. The process
runner's tests are in tests/shadow/."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from shadow_support import (
    CASE,
    EXPECTED,
    INPUTS,
    REGISTRY,
    WAIT,
    Fixed,
    Hangs,
    Mutates,
    OtherOutput,
    Raises,
    experiment,
    fixed,
    one_result,
    wait_until,
)

from compat.shadow import Call, Experiment, ExperimentResult, Observation, Outcome, ShadowMismatch
from engines.errors import CompatError, ConfigError, ExecutionError, SetupError
from engines.result import RunResult


@pytest.fixture
def hang() -> Iterator[Hangs]:
    """A shadow that hangs until the test ends."""
    engine = Hangs()
    yield engine
    engine.release.set()


# --------------------------------------------------------------------------- the primary


def test_graph_primary_journey_shadow_match_on_a_fixture() -> None:
    exp = experiment()
    value = exp.run(REGISTRY, INPUTS, CASE.conversation)
    assert isinstance(value, RunResult) and value.engine == "graph"
    assert value.outputs == EXPECTED
    result = one_result(exp)
    assert result.matched and result.outcome is Outcome.MATCHED
    assert result.primary.value is value
    assert result.shadow.engine == "journey" and result.shadow.status == "completed"
    assert result.comparison is not None and result.comparison.compatible
    assert result.call.workflow_id == "sequence_basics" and result.errors == ()
    for obs in (result.primary, result.shadow):
        assert obs.wall_seconds > 0 and obs.cpu_seconds is not None and obs.cpu_seconds > 0
    assert result.queued_seconds >= 0


def test_the_primary_value_is_the_very_object_it_returned() -> None:
    primary = Fixed(fixed(x=1))
    exp = experiment(primary, "journey")
    assert exp.run(REGISTRY, INPUTS) is primary.result
    assert one_result(exp).primary.value is primary.result


def test_a_crashing_shadow_is_swallowed_and_recorded() -> None:
    boom = ValueError("boom")
    exp = experiment("graph", Raises(boom))
    value = exp.run(REGISTRY, INPUTS)
    assert value.outputs == EXPECTED
    result = one_result(exp)
    assert result.mismatched
    assert result.shadow.exception is boom and result.shadow.raised
    assert result.shadow.status == "crashed" and result.shadow.value is None
    assert "ValueError: boom" in (result.shadow.run.error or "")
    assert result.comparison is not None and "outcome" in result.comparison.differing_dimensions()


def test_a_shadow_raising_system_exit_is_only_an_observation() -> None:
    exp = experiment("graph", Raises(SystemExit(3)))
    assert exp.run(REGISTRY, INPUTS).outputs == EXPECTED
    result = one_result(exp)
    assert isinstance(result.shadow.exception, SystemExit) and result.mismatched


def test_a_mismatching_shadow_leaves_the_primary_alone_and_says_where() -> None:
    exp = experiment("graph", OtherOutput())
    value = exp.run(REGISTRY, INPUTS)
    assert value.outputs == EXPECTED
    result = one_result(exp)
    assert result.mismatched and result.shadow.value.outputs["doubled"] == -1
    assert result.comparison is not None
    assert result.comparison.differing_dimensions() == ("outputs",)
    assert [d.path for d in result.comparison.differences] == ["outputs.doubled"]
    assert "mismatched" in result.summary() and "outputs" in result.summary()
    assert exp.stats.mismatched == 1 and exp.stats.matched == 0


def test_the_primary_returns_while_the_shadow_still_runs(hang: Hangs) -> None:
    primary = Fixed(fixed())
    exp = experiment(primary, hang, timeout=20 * WAIT)
    assert exp.run(REGISTRY, INPUTS) is primary.result
    assert hang.started.wait(WAIT)
    # The shadow cannot end before it is released, nor time out: the primary did not wait.
    assert not hang.finished.is_set() and exp.stats.pending == 1
    hang.release.set()
    assert one_result(exp).matched


def test_a_hanging_shadow_times_out_and_is_abandoned(hang: Hangs) -> None:
    exp = experiment("graph", hang, timeout=0.2)
    assert exp.run(REGISTRY, INPUTS).outputs == EXPECTED
    result = one_result(exp)
    shadow = result.shadow
    assert shadow.timed_out and shadow.status == "timed_out" and shadow.cpu_seconds is None
    assert shadow.wall_seconds >= 0.2
    assert result.mismatched and exp.stats.timed_out == 1
    assert not hang.finished.is_set(), "the shadow timed out while still running"
    # While the abandoned shadow still runs, no other one starts (max_abandoned=1).
    exp.run(REGISTRY, INPUTS)
    assert exp.wait(WAIT)
    assert exp.stats.skipped_by == {"abandoned": 1} and exp.stats.shadow_runs == 1
    hang.release.set()
    wait_until(
        lambda: not any(t.name == "compat-shadow-test-run" for t in threading.enumerate()),
        "the abandoned shadow's thread to end",
    )
    exp.run(REGISTRY, INPUTS)
    assert exp.wait(WAIT) and exp.stats.shadow_runs == 2


def test_a_timed_out_shadow_can_be_ignored(hang: Hangs) -> None:
    exp = experiment("graph", hang, timeout=0.05, ignore=lambda p, s: s.timed_out)
    exp.run(REGISTRY, INPUTS)
    assert one_result(exp).ignored


def test_the_primary_exception_is_reraised_untouched() -> None:
    boom = KeyError("missing")
    exp = experiment(Raises(boom), Raises(KeyError("missing"), name="other"))
    with pytest.raises(KeyError) as info:
        exp.run(REGISTRY, INPUTS)
    assert info.value is boom
    assert boom.__cause__ is None and boom.__context__ is None
    result = one_result(exp)
    assert result.primary.exception is boom and result.primary.status == "crashed"
    assert result.matched, "same type and message: the default compare_errors matches"
    assert result.comparison is None


def test_errors_of_another_message_mismatch() -> None:
    exp = experiment(Raises(ValueError("a")), Raises(ValueError("b")))
    with pytest.raises(ValueError, match=r"^a$"):
        exp.run(REGISTRY, INPUTS)
    assert one_result(exp).mismatched


def test_a_primary_error_against_a_shadow_value_mismatches() -> None:
    boom = RuntimeError("x")
    exp = experiment(Raises(boom), "journey")
    with pytest.raises(RuntimeError) as info:
        exp.run(REGISTRY, INPUTS)
    assert info.value is boom
    result = one_result(exp)
    assert result.mismatched and result.shadow.status == "completed"


def test_an_invalid_shadow_result_is_a_crash_not_an_error() -> None:
    exp = experiment("graph", Fixed({"not": "a result"}))
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.mismatched and result.shadow.status == "crashed"
    assert "not a RunResult" in (result.shadow.run.error or "")


# --------------------------------------------------------------------------- hooks


def test_compare_replaces_the_default_comparison() -> None:
    seen: list[tuple[Any, Any]] = []

    def same_greeting(primary: RunResult, shadow: RunResult) -> bool:
        seen.append((primary, shadow))
        return primary.outputs["greeting"] == shadow.outputs["greeting"]

    exp = experiment("graph", OtherOutput(), compare=same_greeting)
    value = exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.matched and result.comparison is None
    assert seen == [(value, result.shadow.value)]


def test_a_raising_compare_is_a_mismatch_and_reported() -> None:
    reported: list[tuple[str, BaseException]] = []
    exp = experiment(
        "graph", "journey", compare=lambda p, s: 1 / 0, raised=lambda o, e: reported.append((o, e))
    )
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.mismatched
    assert [e.operation for e in result.errors] == ["compare"]
    assert [o for o, _ in reported] == ["compare"]
    assert isinstance(reported[0][1], ZeroDivisionError)
    assert exp.stats.hook_errors == 1 and exp.errors[0].operation == "compare"


def test_compare_errors_replaces_the_default() -> None:
    exp = experiment(
        Raises(ValueError("a")),
        Raises(ValueError("b")),
        compare_errors=lambda p, s: type(p) is type(s),
    )
    with pytest.raises(ValueError):
        exp.run(REGISTRY, INPUTS)
    assert one_result(exp).matched


def test_ignore_hooks_run_on_mismatch_only_and_any_one_ignores() -> None:
    calls: list[str] = []

    def no(primary: Observation, shadow: Observation) -> bool:
        calls.append("no")
        return False

    def yes(primary: Observation, shadow: Observation) -> bool:
        calls.append("yes")
        return shadow.value.outputs["doubled"] == -1

    matching = experiment("graph", "journey", ignore=[no, yes])
    matching.run(REGISTRY, INPUTS)
    assert one_result(matching).matched and calls == []

    differing = experiment("graph", OtherOutput(), ignore=[no, yes])
    differing.run(REGISTRY, INPUTS)
    result = one_result(differing)
    assert result.ignored and calls == ["no", "yes"]
    assert result.comparison is not None and not result.comparison.compatible
    assert differing.stats.ignored == 1 and differing.stats.mismatched == 0


def test_a_raising_ignore_counts_as_false_and_is_reported() -> None:
    reported: list[str] = []

    def broken(primary: Observation, shadow: Observation) -> bool:
        raise RuntimeError("ignore broke")

    exp = experiment("graph", OtherOutput(), ignore=broken, raised=lambda o, e: reported.append(o))
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.mismatched
    assert [str(e) for e in result.errors] == ["ignore: RuntimeError: ignore broke"]
    assert reported == ["ignore"]

    after = experiment("graph", OtherOutput(), ignore=[broken, lambda p, s: True])
    after.run(REGISTRY, INPUTS)
    result = one_result(after)
    assert result.ignored and [e.operation for e in result.errors] == ["ignore"]


def test_clean_changes_only_what_is_published() -> None:
    exp = experiment("graph", OtherOutput(), clean=lambda result: result.outputs["greeting"])
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.primary.cleaned == result.shadow.cleaned == "Hello, Ada!"
    assert result.mismatched, "equal cleaned values do not make a match"
    assert isinstance(result.primary.value, RunResult)

    counter = iter(range(100))
    exp = experiment("graph", "journey", clean=lambda result: next(counter))
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.matched and result.primary.cleaned != result.shadow.cleaned


def test_without_clean_the_published_value_is_the_value_and_errors_have_none() -> None:
    exp = experiment("graph", Raises(ValueError("x")))
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.primary.cleaned is result.primary.value
    assert result.shadow.cleaned is None


def test_a_raising_clean_publishes_nothing_and_is_reported() -> None:
    exp = experiment("graph", "journey", clean=lambda result: result.no_such_field)
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    assert result.matched
    assert result.primary.cleaned is None and result.shadow.cleaned is None
    assert [e.operation for e in result.errors] == ["clean", "clean"]


def test_a_raising_publisher_is_reported_not_propagated() -> None:
    reported: list[tuple[str, BaseException]] = []

    def publish(result: ExperimentResult) -> None:
        raise OSError("the metrics backend is down")

    exp = experiment(publish=publish, raised=lambda o, e: reported.append((o, e)))
    assert exp.run(REGISTRY, INPUTS).outputs == EXPECTED
    assert exp.wait(WAIT)
    assert [o for o, _ in reported] == ["publish"] and isinstance(reported[0][1], OSError)
    stats = exp.stats
    assert stats.publish_errors == 1 and stats.published == 0 and stats.matched == 1
    assert exp.errors[-1].operation == "publish"


def test_a_raising_raised_hook_is_swallowed_too(caplog: pytest.LogCaptureFixture) -> None:
    def raised(operation: str, exc: BaseException) -> None:
        raise RuntimeError("the error handler broke")

    exp = experiment(publish=lambda r: 1 / 0, raised=raised)
    assert exp.run(REGISTRY, INPUTS).outputs == EXPECTED
    assert exp.wait(WAIT) and exp.stats.publish_errors == 1
    assert "the raised hook failed" in caplog.text


def test_without_raised_hook_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    exp = Experiment("logged", "graph", "journey", publish=lambda r: 1 / 0)
    exp.run(REGISTRY, INPUTS)
    assert exp.wait(WAIT)
    assert "experiment 'logged': publish: ZeroDivisionError" in caplog.text


def test_slow_hooks_never_delay_the_primary() -> None:
    gate, entered = threading.Event(), threading.Event()

    def publish(result: ExperimentResult) -> None:
        entered.set()
        gate.wait(WAIT)

    exp = experiment(publish=publish)
    try:
        for _ in range(3):
            exp.run(REGISTRY, INPUTS)
        assert entered.wait(WAIT)
        # The publisher is stuck until the gate opens: no run waited for it to return.
        assert exp.stats.published == 0 and exp.stats.pending >= 1
    finally:
        gate.set()
    assert exp.wait(WAIT) and exp.stats.published == 3


# --------------------------------------------------------------------------- results


def test_results_and_stats_are_immutable() -> None:
    exp = experiment()
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.outcome = Outcome.MISMATCHED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.primary.value = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.call.inputs = {}  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        exp.stats.runs = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        exp.stats.skipped_by["x"] = 1  # type: ignore[index]
    assert result.matched


def test_the_shadow_gets_the_inputs_the_primary_got() -> None:
    shadow = Fixed(fixed())
    exp = experiment(Mutates(), shadow)
    inputs: dict[str, Any] = {"tags": ["a"]}
    exp.run(REGISTRY, inputs, ["hello"])
    inputs["tags"].append("changed by the caller")
    assert exp.wait(WAIT)
    assert shadow.calls == [({"tags": ["a"]}, ("hello",))]
    assert one_result(exp).call.inputs == {"tags": ["a"]}


# --------------------------------------------------------------------------- sampling


def test_sample_rate_zero_never_runs_the_shadow_nor_before_run() -> None:
    shadow, prepared = Fixed(fixed()), []
    exp = experiment(Fixed(fixed()), shadow, sample_rate=0.0, before_run=prepared.append)
    for _ in range(20):
        exp.run(REGISTRY, INPUTS)
    assert exp.wait(WAIT)
    assert shadow.calls == [] and prepared == []
    stats = exp.stats
    assert stats.runs == 20 and stats.sampled == 0 and stats.skipped_by == {"sample_rate": 20}


def test_sample_rate_half_with_a_seed_runs_about_half_and_the_same_half() -> None:
    picked = []
    for _ in range(2):
        shadow = Fixed(fixed())
        exp = experiment(Fixed(fixed()), shadow, sample_rate=0.5, seed=42, max_pending=1000)
        for n in range(400):
            exp.run(REGISTRY, {"n": n})
        assert exp.wait(WAIT)
        picked.append([inputs["n"] for inputs, _ in shadow.calls])
        assert exp.stats.sampled == len(shadow.calls)
    assert 160 <= len(picked[0]) <= 240
    assert picked[0] == picked[1]


def test_run_if_false_never_runs_the_shadow_and_sees_the_call() -> None:
    shadow, seen = Fixed(fixed()), []

    def run_if(call: Call) -> bool:
        seen.append(call)
        return call.inputs["n"] % 2 == 0

    exp = experiment(Fixed(fixed()), shadow, run_if=run_if)
    for n in range(6):
        exp.run(REGISTRY, {"n": n})
    assert exp.wait(WAIT)
    assert [inputs["n"] for inputs, _ in shadow.calls] == [0, 2, 4]
    assert [c.inputs["n"] for c in seen] == list(range(6))
    assert all(c.registry is REGISTRY for c in seen)
    assert exp.stats.skipped_by == {"run_if": 3}


def test_a_raising_run_if_counts_as_false_and_is_reported() -> None:
    shadow, reported = Fixed(fixed()), []
    exp = experiment(
        Fixed(fixed()),
        shadow,
        run_if=lambda call: call.inputs["missing"],
        raised=lambda o, e: reported.append((o, type(e))),
    )
    exp.run(REGISTRY, INPUTS)
    assert exp.wait(WAIT)
    assert shadow.calls == [] and reported == [("run_if", KeyError)]
    assert exp.stats.skipped_by == {"run_if": 1} and exp.stats.hook_errors == 1


def test_before_run_runs_only_when_the_shadow_runs_and_before_it() -> None:
    order: list[str] = []

    class Shadow(Fixed):
        def run_case(self, *args: Any, **kwargs: Any) -> Any:
            order.append("shadow")
            return super().run_case(*args, **kwargs)

    exp = experiment(
        Fixed(fixed()),
        Shadow(fixed()),
        run_if=lambda call: call.inputs["n"] != 1,
        before_run=lambda call: order.append(f"before {call.inputs['n']}"),
    )
    for n in range(3):
        exp.run(REGISTRY, {"n": n})
    assert exp.wait(WAIT)
    assert order == ["before 0", "shadow", "before 2", "shadow"]


def test_a_raising_before_run_skips_the_shadow() -> None:
    shadow = Fixed(fixed())
    exp = experiment(Fixed(fixed()), shadow, before_run=lambda call: 1 / 0)
    exp.run(REGISTRY, INPUTS)
    assert exp.wait(WAIT)
    assert shadow.calls == [] and exp.stats.skipped_by == {"before_run": 1}
    assert exp.errors[0].operation == "before_run"


# --------------------------------------------------------------------------- raise_on_mismatch


def test_raise_on_mismatch_raises_shadow_mismatch_with_the_result() -> None:
    exp = experiment("graph", OtherOutput(), raise_on_mismatch=True)
    with pytest.raises(ShadowMismatch) as info:
        exp.run(REGISTRY, INPUTS)
    error = info.value
    assert isinstance(error, ExecutionError) and isinstance(error, CompatError)
    result = error.result
    assert isinstance(result, ExperimentResult) and result.mismatched
    assert "outputs.doubled" in str(error)
    assert exp.published == [result]  # type: ignore[attr-defined]


def test_raise_on_mismatch_returns_the_value_when_matched() -> None:
    exp = experiment(raise_on_mismatch=True)
    assert exp.run(REGISTRY, INPUTS).outputs == EXPECTED
    assert exp.stats.matched == 1 and exp.stats.pending == 0


def test_raise_on_mismatch_chains_the_primary_exception() -> None:
    boom = ValueError("primary")
    exp = experiment(Raises(boom), "journey", raise_on_mismatch=True)
    with pytest.raises(ShadowMismatch) as info:
        exp.run(REGISTRY, INPUTS)
    assert info.value.__cause__ is boom


def test_raise_on_mismatch_waits_for_a_hanging_shadow(hang: Hangs) -> None:
    exp = experiment("graph", hang, timeout=0.1, raise_on_mismatch=True)
    with pytest.raises(ShadowMismatch, match="timed_out"):
        exp.run(REGISTRY, INPUTS)


def test_raise_on_mismatch_respects_sampling() -> None:
    exp = experiment("graph", OtherOutput(), raise_on_mismatch=True, sample_rate=0.0)
    assert exp.run(REGISTRY, INPUTS).outputs == EXPECTED


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"sample_rate": 1.5}, "sample_rate must be a number between 0 and 1, got 1.5"),
        ({"sample_rate": -0.1}, "sample_rate"),
        ({"sample_rate": float("nan")}, "sample_rate"),
        ({"sample_rate": "0.5"}, "sample_rate"),
        ({"sample_rate": True}, "sample_rate"),
        ({"timeout": 0}, "timeout must be a number > 0"),
        ({"max_pending": 0}, "max_pending must be an int >= 1"),
        ({"max_abandoned": 0}, "max_abandoned"),
        ({"duty_cycle": 0}, "duty_cycle must be a number > 0 and <= 1, got 0"),
        ({"timeout": float("inf")}, "timeout"),
        ({"compare": 3}, "compare must be callable or None, got int"),
        ({"publish": "print"}, "publish must be callable"),
        ({"ignore": [print, None]}, "ignore[1] must be callable, got NoneType"),
        ({"ignore": 3}, "ignore must be a callable or a sequence of callables"),
        ({"raise_on_mismatch": 1}, "raise_on_mismatch"),
        ({"tolerances": {"abs_tol": 1}}, "tolerances"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_bad_arguments_are_config_errors(options: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as info:
        Experiment("bad", "graph", "journey", **options)
    assert str(info.value).startswith("experiment 'bad': ")
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("primary", "shadow", "words"),
    [
        ("nope", "journey", "experiment 'bad': primary: engine 'nope'"),
        ("graph", "no_such_module:x", "shadow: engine 'no_such_module:x': cannot import"),
        ("graph", object(), "shadow must be an engine spec"),
    ],
)
def test_unknown_engines_are_setup_errors(primary: Any, shadow: Any, words: str) -> None:
    with pytest.raises(SetupError) as info:
        Experiment("bad", primary, shadow)
    assert words in str(info.value)


def test_engines_by_module_spec() -> None:
    exp = experiment("compat.engines:GraphAdapter", "compat.engines:JourneyAdapter")
    exp.run(REGISTRY, INPUTS)
    assert one_result(exp).matched
