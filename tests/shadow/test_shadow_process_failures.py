"""The process runner when things go wrong: a shadow that hangs (in Python or in C) is
killed and its worker replaced; one that crashes its worker is a `crashed` observation; what
cannot be sent back is said so; the caller never notices; closing leaves no process behind;
what cannot work fails when the experiment is made.

No check depends on the machine's speed; waits are bounded by `WAIT` only to end a hang."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
from typing import Any

import pytest
from shadow_engines import REFUSE, Echo, Modes, SlowToRead
from shadow_support import (
    REGISTRY,
    WAIT,
    Fixed,
    Hangs,
    experiment,
    fixed,
    one_result,
    wait_until,
)

from compat.shadow import Experiment, ProcessRunner, ShadowProcessError
from engines.errors import ConfigError, SetupError
from engines.tools import builtin_registry


def process(made: list[Experiment], shadow: Any = None, **options: Any) -> Experiment:
    """Primary `Echo` in the test process, shadow `Modes` (or `shadow`) in a worker."""
    options.setdefault("shadow_runner", "process")
    exp = experiment(Echo(), Modes() if shadow is None else shadow, **options)
    made.append(exp)
    return exp


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def worker_pid(exp: Experiment) -> int:
    pid = exp.shadow.pid  # type: ignore[union-attr]
    assert pid is not None
    return pid


# --------------------------------------------------------------------------- hangs


@pytest.mark.parametrize("mode", ["hang", "hang-in-c"])
def test_a_hanging_shadow_is_killed_and_its_worker_replaced(
    mode: str, made: list[Experiment]
) -> None:
    exp = process(made, timeout=0.5)
    first = worker_pid(exp)
    value = exp.run(REGISTRY, {"mode": mode})
    assert value.outputs == {"workflow": "sequence_basics"}  # the primary's, at once
    result = one_result(exp)
    shadow = result.shadow
    assert shadow.timed_out and shadow.status == "timed_out" and shadow.cpu_seconds is None
    assert shadow.wall_seconds >= 0.5 and result.mismatched
    assert result.comparison is not None and "outcome" in result.comparison.differing_dimensions()
    assert not alive(first), "the hanging worker was killed"
    # No abandoned shadow holds the next sample back: a new worker runs it.
    exp.run(REGISTRY, {"n": 1})
    assert exp.wait(WAIT)
    stats = exp.stats
    assert stats.timed_out == 1 and stats.matched == 1 and stats.skipped == 0
    second = worker_pid(exp)
    assert second != first and alive(second)


def test_the_primary_returns_while_the_worker_still_runs(made: list[Experiment]) -> None:
    exp = process(made, timeout=20 * WAIT)
    pid = worker_pid(exp)
    exp.run(REGISTRY, {"mode": "hang"})
    # The shadow sleeps for far longer than any test: nobody waited for it.
    assert exp.stats.pending == 1
    exp.run(REGISTRY, {"n": 1})  # queued behind it
    assert exp.stats.pending == 2 and exp.stats.shadow_runs == 0
    os.kill(pid, signal.SIGKILL)  # from outside: the hanging sample is a crash
    assert exp.wait(WAIT)
    crashed, matched = exp.published  # type: ignore[attr-defined]
    assert "SIGKILL" in str(crashed.shadow.exception) and matched.matched


# --------------------------------------------------------------------------- crashes


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("exit", "exited with code 0"),
        ("segfault", "SIGSEGV"),
        ("sigkill", "SIGKILL"),
    ],
)
def test_a_shadow_that_kills_its_worker_is_a_crash(
    mode: str, words: str, made: list[Experiment]
) -> None:
    exp = process(made)
    first = worker_pid(exp)
    assert exp.run(REGISTRY, {"mode": mode}).outputs == {"workflow": "sequence_basics"}
    result = one_result(exp)
    error = result.shadow.exception
    assert isinstance(error, ShadowProcessError) and words in str(error)
    assert "died while running it" in str(error)
    assert result.shadow.status == "crashed" and result.mismatched
    assert not alive(first)
    exp.run(REGISTRY, {"n": 1})
    assert exp.wait(WAIT) and exp.stats.matched == 1 and worker_pid(exp) != first


def test_a_shadows_exception_crosses_with_its_traceback(made: list[Experiment]) -> None:
    exp = process(made)
    exp.run(REGISTRY, {"mode": "raise"})
    result = one_result(exp)
    error = result.shadow.exception
    assert type(error) is ValueError and str(error) == "boom"
    notes = "\n".join(getattr(error, "__notes__", []))
    assert "raised in the shadow's worker process" in notes and "run_case" in notes
    assert result.shadow.status == "crashed"
    assert "ValueError: boom" in (result.shadow.run.error or "")


def test_a_shadows_system_exit_is_only_an_observation(made: list[Experiment]) -> None:
    exp = process(made)
    first = worker_pid(exp)
    exp.run(REGISTRY, {"mode": "system-exit"})
    assert isinstance(one_result(exp).shadow.exception, SystemExit)
    assert worker_pid(exp) == first and alive(first), "the worker survived it"


def test_an_exception_that_cannot_travel_is_described(made: list[Experiment]) -> None:
    exp = process(made)
    exp.run(REGISTRY, {"mode": "unpicklable-error"})
    error = one_result(exp).shadow.exception
    assert isinstance(error, ShadowProcessError)
    assert str(error).startswith("NeedsTwo: this and that (the exception cannot be sent")


def test_a_value_that_cannot_travel_is_a_crash(made: list[Experiment]) -> None:
    exp = process(made)
    exp.run(REGISTRY, {"mode": "unpicklable-value"})
    result = one_result(exp)
    assert isinstance(result.shadow.exception, ShadowProcessError)
    assert "result cannot be sent" in str(result.shadow.exception)
    assert result.shadow.status == "crashed" and result.mismatched


def test_a_call_that_cannot_be_sent_is_skipped_and_said_so(made: list[Experiment]) -> None:
    values = iter([lambda: None, fixed(workflow="sequence_basics")])

    class Primary:
        name = "primary"

        def run_case(self, *args: Any, **kwargs: Any) -> Any:
            return next(values)

    exp = experiment(Primary(), Modes(), shadow_runner="process")
    made.append(exp)
    exp.run(REGISTRY, {})  # a value that cannot be pickled: the first (and the registry's)
    exp.run(REGISTRY, {})  # the next call still reaches the worker, registry and all
    assert exp.wait(WAIT)
    assert exp.stats.skipped_by == {"error": 1} and exp.stats.matched == 1
    (error,) = exp.errors
    assert "cannot be sent to the shadow's worker process" in str(error.exception)


def test_a_stalled_comparison_is_our_error_not_the_shadows(made: list[Experiment]) -> None:
    # The shadow answers after more than half its timeout, so the worker announces the
    # comparison stage; reading the primary's value there stalls past compare_timeout.
    exp = experiment(
        Fixed(SlowToRead()), Modes(), timeout=4.0,
        shadow_runner=ProcessRunner(compare_timeout=0.5),
    )  # fmt: skip
    made.append(exp)
    first = worker_pid(exp)
    exp.run(REGISTRY, {"mode": "sleep", "seconds": 2.05})
    assert exp.wait(WAIT)
    assert exp.published == []  # type: ignore[attr-defined]
    assert exp.stats.skipped_by == {"error": 1} and exp.stats.shadow_runs == 0
    (error,) = exp.errors
    assert error.operation == "experiment" and "compare_timeout" in str(error.exception)
    assert not alive(first)


def test_a_worker_that_cannot_restart_skips_samples_until_it_can(
    made: list[Experiment], monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = process(made, "shadow_engines:refusing", timeout=0.5)
    exp.run(REGISTRY, {"mode": "exit"})  # the worker dies
    assert exp.wait(WAIT)
    monkeypatch.setenv(REFUSE, "1")  # a worker started now cannot load the shadow
    exp.run(REGISTRY, {"n": 1})
    assert exp.wait(WAIT)
    assert exp.stats.skipped_by == {"error": 1}
    assert "could not be restarted" in str(exp.errors[-1].exception)
    monkeypatch.delenv(REFUSE)
    exp.run(REGISTRY, {"n": 2})
    assert exp.wait(WAIT) and exp.stats.matched == 1


# --------------------------------------------------------------------------- closing


def test_close_stops_the_worker_and_a_context_leaves_no_process(made: list[Experiment]) -> None:
    with process(made) as exp:
        pid = worker_pid(exp)
        exp.run(REGISTRY, {"n": 1})
    assert exp.stats.matched == 1 and not alive(pid)
    assert exp.shadow.pid is None  # type: ignore[union-attr]
    assert all(child.pid != pid for child in multiprocessing.active_children())
    assert exp.run(REGISTRY, {"n": 2}).outputs["n"] == 2  # the primary still runs
    assert exp.stats.skipped_by == {"closed": 1}


def test_close_before_the_backlog_drained_stops_the_worker_afterwards(
    made: list[Experiment],
) -> None:
    exp = process(made, timeout=0.5)
    pid = worker_pid(exp)
    exp.run(REGISTRY, {"mode": "hang"})
    exp.run(REGISTRY, {"n": 1})
    assert exp.close(0) is False  # the hanging sample is still in the worker
    wait_until(lambda: exp.stats.pending == 0, "the backlog to drain")
    wait_until(lambda: exp.shadow.pid is None, "the worker to be stopped")  # type: ignore[union-attr]
    assert not alive(pid) and exp.stats.timed_out == 1 and exp.stats.matched == 1


def test_an_experiment_dropped_unused_takes_its_worker_with_it() -> None:
    exp = experiment(Echo(), Modes(), shadow_runner="process")
    pid = worker_pid(exp)
    del exp
    gc.collect()
    wait_until(lambda: not alive(pid), "the dropped experiment's worker to end")


# --------------------------------------------------------------------------- arguments


def test_a_shadow_that_cannot_load_fails_when_the_experiment_is_made() -> None:
    with pytest.raises(SetupError) as info:
        Experiment("bad", "graph", "no_such_module:x", shadow_runner="process")
    assert str(info.value).startswith("experiment 'bad': shadow: ")
    assert "cannot import 'no_such_module'" in str(info.value)
    with pytest.raises(SetupError, match="exited with code 3"):
        Experiment("bad", "graph", "shadow_engines:exits_on_load", shadow_runner="process")


def test_what_cannot_be_pickled_fails_when_the_experiment_is_made() -> None:
    with pytest.raises(ConfigError) as info:
        Experiment("bad", "graph", Hangs(), shadow_runner="process")
    assert str(info.value).startswith("experiment 'bad': shadow: the process runner sends it")
    tools = builtin_registry()
    tools.register("local", lambda args, ctx: 1)
    with pytest.raises(ConfigError, match=r"^experiment 'bad': tools: .* cannot be pickled"):
        Experiment("bad", "graph", "journey", tools=tools, shadow_runner="process")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: Experiment("bad", "graph", "journey", shadow_runner="fork"), "shadow_runner"),
        (lambda: ProcessRunner(nice=20), "nice must be an int between 0 and 19"),
        (lambda: ProcessRunner(nice=True), "nice"),
        (lambda: ProcessRunner(memory_mb=0), "memory_mb must be an int >= 1"),
        (lambda: ProcessRunner(start_timeout=0), "start_timeout must be a number > 0"),
        (lambda: ProcessRunner(compare_timeout=-1), "compare_timeout"),
        (lambda: ProcessRunner(max_registries=0), "max_registries"),
    ],
)
def test_bad_runner_arguments_are_config_errors(make: Any, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        make()


def test_a_shadow_object_travels_pickled(made: list[Experiment]) -> None:
    shadow = Fixed(fixed(workflow="sequence_basics"), name="pickled")
    exp = process(made, shadow)
    exp.run(REGISTRY, {})
    result = one_result(exp)
    assert result.matched and result.shadow.engine == "pickled"
    assert shadow.calls == [], "the worker ran a copy"
