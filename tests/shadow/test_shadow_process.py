"""The process runner (`shadow_runner="process"`, compat/shadow/process.py): the shadow and
the comparison run in a worker process, and publishers get what the thread runner gives.

Checks rest on results, counts and process ids, never on how fast the machine is; waits
are bounded by `WAIT` only to end a test that hangs (the suite runs on busy machines)."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

import pytest
from pydantic import BaseModel
from shadow_engines import Echo, Modes, PickleSpy, pid_registry, pid_tools
from shadow_support import (
    EXPECTED,
    INPUTS,
    REGISTRY,
    REPO,
    WAIT,
    Fixed,
    Raises,
    experiment,
    fixed,
    one_result,
)

from compat.shadow import (
    Experiment,
    ExperimentResult,
    ProcessRunner,
    ShadowMismatch,
)
from engines.documents import load_fixture
from engines.result import RunResult


def process(made: list[Experiment], primary: Any, shadow: Any, **options: Any) -> Experiment:
    options.setdefault("shadow_runner", "process")
    exp = experiment(primary, shadow, **options)
    made.append(exp)
    return exp


def test_graph_primary_journey_shadow_in_a_worker_process(made: list[Experiment]) -> None:
    exp = process(made, "graph", "journey")
    assert exp.shadow.name == "journey"
    worker = exp.shadow.pid  # type: ignore[union-attr]
    assert worker is not None and worker != os.getpid()
    value = exp.run(REGISTRY, INPUTS)
    assert value.outputs == EXPECTED
    result = one_result(exp)
    assert result.matched and result.comparison is not None and result.comparison.compatible
    assert result.primary.value is value and result.primary.run.result is value
    assert result.shadow.run.result is result.shadow.value
    assert result.shadow.status == "completed" and result.shadow.value.engine == "journey"
    assert result.shadow.cpu_seconds is not None and result.shadow.cpu_seconds > 0
    assert exp.shadow.pid == worker  # type: ignore[union-attr]


def test_the_shadow_runs_in_the_worker_process(made: list[Experiment]) -> None:
    exp = process(made, Fixed(fixed(pid=os.getpid())), Modes())
    exp.run(REGISTRY, {"mode": "pid"})
    result = one_result(exp)
    assert result.shadow.value.outputs == {"pid": exp.shadow.pid}  # type: ignore[union-attr]


# --------------------------------------------------------------------------- same content


def plain(value: Any) -> Any:
    """A result as data, without what differs from run to run (times) and with exceptions
    as their type and message (a worker's exception is a copy, with a note added)."""
    if isinstance(value, BaseException):
        return (type(value).__name__, str(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in ("wall_seconds", "cpu_seconds", "queued_seconds", "registry")
        }
    if isinstance(value, BaseModel):
        return (type(value).__name__, plain(value.model_dump()))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in ("wall_seconds", "cpu_seconds")}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def same_greeting(primary: RunResult, shadow: RunResult) -> bool:
    return primary.outputs["greeting"] == shadow.outputs["greeting"]


OTHER = "shadow_support:OtherOutput"
SCENARIOS: dict[str, tuple[Any, Any, dict[str, Any]]] = {
    "match": ("graph", "journey", {}),
    "mismatch": ("graph", OTHER, {}),
    "shadow raises": ("graph", Raises(ValueError("boom")), {}),
    "shadow exits": ("graph", Raises(SystemExit(3)), {}),
    "not a result": ("graph", Fixed({"not": "a result"}), {}),
    "both raise alike": (Raises(KeyError("k")), Raises(KeyError("k"), name="other"), {}),
    "both raise unlike": (Raises(ValueError("a")), Raises(ValueError("b")), {}),
    "primary raises": (Raises(RuntimeError("x")), "journey", {}),
    "custom compare": ("graph", OTHER, {"compare": same_greeting}),
    "compare raises": ("graph", "journey", {"compare": lambda p, s: 1 / 0}),
    "ignored": ("graph", OTHER, {"ignore": lambda p, s: s.value.outputs["doubled"] == -1}),
    "clean": ("graph", OTHER, {"clean": lambda result: result.outputs["greeting"]}),
    "raising clean": ("graph", "journey", {"clean": lambda result: result.nope}),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_publishers_get_what_the_thread_runner_gives(scenario: str, made: list[Experiment]) -> None:
    primary, shadow, options = SCENARIOS[scenario]
    results = {}
    for runner in ("thread", "process"):
        exp = experiment(primary, shadow, shadow_runner=runner, **options)
        made.append(exp)
        try:
            exp.run(REGISTRY, INPUTS, ["hello"])
        except Exception as exc:
            assert isinstance(primary, Raises) and exc is primary.exc
        results[runner] = one_result(exp)
    thread, other = results["thread"], results["process"]
    assert plain(other) == plain(thread)
    assert other.summary().split(" (")[0] == thread.summary().split(" (")[0]
    assert made[0].stats == made[1].stats


def test_the_callers_thread_never_pickles(made: list[Experiment]) -> None:
    PickleSpy.threads.clear()
    exp = process(made, Fixed(PickleSpy()), "journey")
    exp.run(REGISTRY, INPUTS)
    result = one_result(exp)
    # The primary's value is pickled for the worker, by the experiment's own thread.
    assert PickleSpy.threads == ["compat-shadow-test"]
    assert result.primary.status == "crashed"  # a PickleSpy is not a RunResult


def test_engines_named_by_spec_are_imported_only_in_the_worker(made: list[Experiment]) -> None:
    assert "worker_only" not in sys.modules
    exp = process(made, "graph", "worker_only:Engine")
    assert exp.shadow.name == "journey-in-the-worker"
    exp.run(REGISTRY, INPUTS)
    assert one_result(exp).matched
    assert "worker_only" not in sys.modules


def test_registries_travel_once_per_worker_and_again_after_a_restart(
    made: list[Experiment],
) -> None:
    other = load_fixture(REPO / "fixtures" / "loop_modes.yaml").registry
    exp = process(made, Echo(), Modes(), timeout=0.5, shadow_runner=ProcessRunner(max_registries=1))
    for registry in (REGISTRY, other, REGISTRY, other):  # a worker holds one: sent each time
        exp.run(registry, {"n": 1})
    assert exp.wait(WAIT)
    exp.run(REGISTRY, {"mode": "hang"})  # the worker is killed, its registries with it
    assert exp.wait(WAIT)
    exp.run(REGISTRY, {"n": 2})
    assert exp.wait(WAIT)
    outcomes = [r.outcome.value for r in exp.published]  # type: ignore[attr-defined]
    assert outcomes == ["matched"] * 4 + ["mismatched", "matched"]
    workflows = [r.shadow.value.outputs.get("workflow") for r in exp.published[:4]]  # type: ignore[attr-defined]
    assert workflows == [REGISTRY.main.id, other.main.id] * 2
    assert exp.stats.hook_errors == 0, exp.errors


@pytest.mark.parametrize("replay", [False, True])
def test_replay_answers_the_worker_from_the_primarys_recording(
    replay: bool, made: list[Experiment]
) -> None:
    tools = pid_tools()
    registry = pid_registry(tools)
    exp = process(made, "graph", "journey", tools=tools, replay=replay)
    value = exp.run(registry, {})
    assert value.outputs == {"pid": os.getpid()}
    result = one_result(exp)
    if replay:
        assert result.matched, result.summary()
        assert result.shadow.value.outputs == {"pid": os.getpid()}
        assert result.comparison is not None
        assert result.comparison.dimension("replay").score == 1.0
    else:  # the worker's tool answers with the worker's pid
        assert result.mismatched
        assert result.shadow.value.outputs == {"pid": exp.shadow.pid}  # type: ignore[union-attr]


def test_raise_on_mismatch_with_the_process_runner(made: list[Experiment]) -> None:
    exp = process(made, "graph", OTHER, raise_on_mismatch=True)
    with pytest.raises(ShadowMismatch) as info:
        exp.run(REGISTRY, INPUTS)
    result = info.value.result
    assert isinstance(result, ExperimentResult) and result.mismatched
    assert "outputs.doubled" in str(info.value)


@pytest.mark.parametrize("nice", [0, 10])
def test_the_worker_runs_at_a_lower_cpu_priority(nice: int, made: list[Experiment]) -> None:
    exp = process(made, "graph", "journey", shadow_runner=ProcessRunner(nice=nice))
    pid = exp.shadow.pid  # type: ignore[union-attr]
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, ours + nice)


def test_a_process_experiment_keeps_the_counters_of_a_thread_one(
    made: list[Experiment],
) -> None:
    exp = process(made, Fixed(fixed()), Fixed(fixed()), sample_rate=0.5, seed=3)
    for n in range(40):
        exp.run(REGISTRY, {"n": n})
    assert exp.wait(WAIT)
    stats = exp.stats
    assert stats.runs == 40 and stats.sampled == stats.matched == stats.shadow_runs
    assert stats.runs == stats.skipped + stats.dropped + stats.matched
    assert stats.skipped_by == {"sample_rate": stats.skipped}
