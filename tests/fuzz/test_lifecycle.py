"""The run-lifecycle state machine (compat/fuzz/lifecycle.py): start, answer, save and
restore, hand off, cancel in any order on both engines must end as the uninterrupted run."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from compat.fuzz.lifecycle import (
    PHASES,
    RunLifecycle,
    check_lifecycle,
    lifecycle_machine,
    pausing_workflows,
)
from engines.graph import GraphEngine
from engines.integrity import seal
from engines.journey import JourneyEngine

BOUNDED = settings(
    max_examples=60,
    stateful_step_count=8,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
    print_blob=False,
    phases=PHASES,
)
#: To show a bug is caught: stop at the first failure, unshrunk.
CATCH = settings(BOUNDED, max_examples=300, phases=[Phase.generate])


def test_the_lifecycle_equals_the_uninterrupted_run() -> None:
    run_state_machine_as_test(RunLifecycle, settings=BOUNDED)


def test_check_lifecycle_covers_every_step_and_is_deterministic() -> None:
    first = check_lifecycle(max_examples=25, seed=7, steps=8)
    assert first.machines >= 25
    assert set(first.steps) == {"answer", "restore", "handoff", "cancel"}
    assert {"completed", "cancelled"} <= set(first.endings)
    again = check_lifecycle(max_examples=25, seed=7, steps=8)
    assert again == first


def test_one_engine_hands_off_to_itself_through_the_common_state() -> None:
    machine = lifecycle_machine(pausing_workflows(max_nodes=5), engines=("journey",))
    report = check_lifecycle(max_examples=15, seed=1, steps=6, machine=machine)
    assert report.steps["handoff"] > 0
    with pytest.raises(ValueError, match="engines"):
        lifecycle_machine(engines=("graph", "temporal"))


# --------------------------------------------------------------------------- a broken restore


def _levels(level: dict[str, Any]) -> list[dict[str, Any]]:
    """A saved level (graph frame, journey walk) and every level open inside it."""
    found = [level]
    for run in level.get("runs", level.get("counters", [])):
        inner = [run["child"]] if run["kind"] == "loop" else list(run["active"].values())
        for child in inner:
            if child is not None:
                found += _levels(child)
    return found


def _forget_last_answer(document: Mapping[str, Any], registry: Any, top: str) -> dict[str, Any]:
    """The saved run with the output of the last input it completed (wherever it settled)
    lost — as a restore that dropped the last answered payload would leave it — sealed
    again, so only the result can tell."""
    doc = copy.deepcopy(dict(document))
    main = registry.main
    inputs = {n for n in main.topology.iter_nodes() if main.workflow.node(n).type == "input"}
    answered = [
        (e["node"], e["path"])
        for e in doc["events"]
        if e.get("kind") == "completed" and e.get("node") in inputs
    ]
    if answered:
        node, path = answered[-1]
        for level in _levels(doc[top]):
            settled = level.get("view", level.get("settled"))
            if level["path"] == path and node in settled:
                settled[node]["output"] = "forgotten"
    return seal(doc)


def _broken(kind: str) -> tuple[type, str, Callable[..., Any]]:
    if kind == "graph":
        original = GraphEngine.restore

        def restore(self: Any, workflow: Any, snapshot: Any, **kw: Any) -> Any:
            return original(self, workflow, _forget_last_answer(snapshot, workflow, "frame"), **kw)

        return GraphEngine, "restore", restore
    original_load = JourneyEngine.load_session

    def load_session(self: Any, workflow: Any, data: Any, **kw: Any) -> Any:
        return original_load(self, workflow, _forget_last_answer(data, workflow, "walk"), **kw)

    return JourneyEngine, "load_session", load_session


class _HandoffOnly(RunLifecycle):
    """No same-engine restore (and so no check that a restored run saves as it was): a lost
    answer can only show in the result."""

    def save_and_restore_same(self, data: Any) -> None:  # no longer a rule
        raise AssertionError("not a rule")


@pytest.mark.parametrize("kind", ["graph", "journey"])
def test_the_result_check_catches_a_restore_that_drops_the_last_answer(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, name, broken = _broken(kind)
    monkeypatch.setattr(owner, name, broken)
    machine = type("RunLifecycle", (_HandoffOnly,), {"engines": (kind,)})
    with pytest.raises(AssertionError, match="differs from the uninterrupted run") as caught:
        run_state_machine_as_test(machine, settings=CATCH)
    assert "forgotten" in str(caught.value)


def test_a_restore_that_drops_the_last_answer_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    owner, name, broken = _broken("journey")
    monkeypatch.setattr(owner, name, broken)
    with pytest.raises(AssertionError, match="forgotten"):
        run_state_machine_as_test(RunLifecycle, settings=CATCH)
