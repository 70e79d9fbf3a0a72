"""Helpers of tests/test_shadow.py and tests/shadow/: a fixture case, small engines that
return, raise, hang, sleep, disagree or change their inputs, and an experiment that keeps
its results.

No test may depend on how fast the machine is (the suite runs on busy 2-core machines):
checks rest on counts, events and ordering; every wait is bounded by `WAIT`, a limit that
only ends a test that hangs, never one that is merely slow."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from compat.engines import GraphAdapter
from compat.shadow import Experiment, ExperimentResult
from engines.documents import load_fixture
from engines.model import WorkflowRegistry
from engines.result import RunResult

REPO = Path(__file__).resolve().parents[1]
FIXTURE = load_fixture(REPO / "fixtures" / "sequence_basics.yaml")
REGISTRY = FIXTURE.registry
CASE = FIXTURE.case("int-input")
INPUTS = dict(CASE.inputs)
EXPECTED = CASE.expect.outputs if CASE.expect else {}

#: Seconds any wait may take before the test fails: only a hang (or a lost event) reaches it.
WAIT = 120.0


def fixed(**outputs: Any) -> RunResult:
    return RunResult(
        engine="fixed", workflow_id="sequence_basics", status="completed", outputs=outputs
    )


# --------------------------------------------------------------------------- engines


class Fixed:
    """Returns the same object on every call, and logs what it was given."""

    def __init__(self, result: Any, name: str = "fixed") -> None:
        self.name = name
        self.result = result
        self.calls: list[tuple[Mapping[str, Any], Sequence[Any]]] = []

    def run_case(self, registry: WorkflowRegistry, inputs: Any, conversation: Any, **_: Any) -> Any:
        self.calls.append((inputs, conversation))
        return self.result


class Raises:
    def __init__(self, exc: BaseException, name: str = "raises") -> None:
        self.name = name
        self.exc = exc
        self.calls = 0

    def run_case(self, registry: WorkflowRegistry, inputs: Any, conversation: Any, **_: Any) -> Any:
        self.calls += 1
        raise self.exc


class Hangs:
    """Blocks until released: a shadow that outlives any timeout (released by the `hang`
    fixture when the test ends; `WAIT` only ends a thread a test forgot)."""

    name = "hangs"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.finished = threading.Event()

    def run_case(self, registry: WorkflowRegistry, inputs: Any, conversation: Any, **_: Any) -> Any:
        self.started.set()
        self.release.wait(WAIT)
        self.finished.set()
        return fixed()


class OtherOutput(GraphAdapter):
    """The graph engine with one output changed: a shadow that disagrees."""

    name = "other"

    def run_case(self, *args: Any, **kwargs: Any) -> RunResult:
        result = super().run_case(*args, **kwargs)
        return result.model_copy(update={"outputs": {**result.outputs, "doubled": -1}})


class Mutates:
    """A primary that changes its inputs in place (a bug the shadow must not inherit)."""

    name = "mutates"

    def run_case(self, registry: WorkflowRegistry, inputs: Any, conversation: Any, **_: Any) -> Any:
        inputs["tags"].append("mutated")
        return fixed()


def experiment(primary: Any = "graph", shadow: Any = "journey", **options: Any) -> Experiment:
    """An experiment collecting its results in `.published` (unless `publish` is given)."""
    published: list[ExperimentResult] = []
    options.setdefault("publish", published.append)
    options.setdefault("raised", lambda operation, exc: None)
    exp = Experiment("test", primary, shadow, **options)
    exp.published = published  # type: ignore[attr-defined]
    return exp


def one_result(exp: Experiment) -> ExperimentResult:
    assert exp.wait(WAIT), "the shadow did not finish"
    published = exp.published  # type: ignore[attr-defined]
    assert len(published) == 1, published
    return published[0]


class Sleeps:
    """Sleeps, and logs when each run started and ended."""

    name = "sleeps"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.starts: list[float] = []
        self.ends: list[float] = []

    def run_case(self, registry: WorkflowRegistry, inputs: Any, conversation: Any, **_: Any) -> Any:
        self.starts.append(time.perf_counter())
        time.sleep(self.seconds)
        self.ends.append(time.perf_counter())
        return fixed()


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll `predicate` until it holds; fail after `WAIT` seconds (a hang, not slowness)."""
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.005)
