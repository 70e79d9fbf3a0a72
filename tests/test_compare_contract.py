"""The comparison covers the whole result contract (compat/compare/contract.py).

Every field of `RunResult`, `NodeError`, `PauseInfo`, `TraceEvent` and `RunMetrics`, and every
event detail docs/semantics.md §10 lists, is either compared by a dimension or declared out
of scope with a reason — a new field fails here until someone decides. Then each declaration
is held to account on real results (every bundled case, graph engine): perturbing a compared
field must make the pair incompatible in its dimension; perturbing an out-of-scope one must
not raise a false alarm.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from compat.compare import compare_runs
from compat.compare.contract import CONTRACT
from compat.compare.events import DETAIL_KEYS
from compat.engines import EngineRun, GraphAdapter, run_engine
from compat.tolerances import Tolerances
from engines.documents import load_fixture
from engines.model import ValidatedWorkflow
from engines.result import NodeError, PauseInfo, RunMetrics, RunResult, TraceEvent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODELS: tuple[type[BaseModel], ...] = (RunResult, NodeError, PauseInfo, TraceEvent, RunMetrics)

Data = dict[str, Any]
Perturb = Callable[[Data], bool]


def test_every_field_of_the_contract_is_compared_or_declared_out_of_scope() -> None:
    fields = {f"{model.__name__}.{name}" for model in MODELS for name in model.model_fields}
    details = {f"detail.{kind}.{key}" for kind, keys in DETAIL_KEYS.items() for key in keys}
    missing = sorted((fields | details) - set(CONTRACT))
    assert not missing, f"neither compared nor declared out of scope: {missing}"
    stale = sorted(set(CONTRACT) - fields - details - {"detail.*.other keys"})
    assert not stale, f"declared but not in the contract: {stale}"
    assert all(rule.how for rule in CONTRACT.values())


def test_the_detail_keys_are_the_ones_the_contract_lists() -> None:
    """docs/semantics.md §10's table, kind by kind."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "semantics.md").read_text()
    table = text[text.index("| situation | events |") :]
    for kind, keys in DETAIL_KEYS.items():
        for key in keys:
            assert f"`{key}`" in table, (kind, key)
    assert set(DETAIL_KEYS) == {
        "started",
        "completed",
        "failed",
        "retrying",
        "skipped",
        "deduplicated",
        "compensated",
    }


def test_the_docs_table_is_this_table() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "harness.md").read_text()
    for name, rule in CONTRACT.items():
        row = f"| `{name}` | {rule.dimension or '— (out of scope)'} | {rule.how} |"
        assert row in doc, f"docs/harness.md does not say: {row}"


# ---------------------------------------------------------------------- real results


@cache
def real_results() -> tuple[tuple[RunResult, ValidatedWorkflow], ...]:
    """Every bundled case, run once on the graph engine."""
    engine = GraphAdapter()
    out = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        fixture = load_fixture(path)
        for case in fixture.cases:
            run = run_engine(
                engine, fixture.registry, case.inputs, case.conversation, cancel=case.cancel
            )
            assert run.result is not None, (path.name, case.name, run.error)
            out.append((run.result, fixture.workflow))
    return tuple(out)


def _events(data: Data, kind: str | None = None, key: str | None = None) -> list[Data]:
    return [
        e
        for e in data["trace"]
        if (kind is None or e["kind"] == kind) and (key is None or key in e["detail"])
    ]


def _other(value: Any) -> Any:
    """A different value of the same JSON kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1.5 if isinstance(value, float) else value + 1
    if isinstance(value, str):
        return value + "'"
    if isinstance(value, (list, tuple)):
        return [*value, "extra"]
    if isinstance(value, dict):
        return {**value, "extra": 1}
    return "changed"


def _first_error(data: Data, wanted: Callable[[Data], bool] = lambda e: True) -> Data | None:
    records = list(data["errors"]) + list(data["node_errors"].values())
    return next((e for e in records if wanted(e)), None)


def _error_field(name: str) -> Perturb:
    def perturb(data: Data) -> bool:
        if name == "cause":
            error = _first_error(data, lambda e: e["cause"] is not None)
            if error is None:
                return False
            error["cause"] = None
            return True
        error = _first_error(data)
        if error is None:
            return False
        error[name] = [["elsewhere", 0]] if name == "path" else _other(error[name])
        return True

    return perturb


def _pause_field(name: str) -> Perturb:
    def perturb(data: Data) -> bool:
        pause = data["pause"]
        if pause is None:
            return False
        key = "schema" if name == "schema_" else name
        pause[key] = [["elsewhere", 0]] if name == "path" else _other(pause[key])
        return True

    return perturb


def _event_field(name: str) -> Perturb:
    def perturb(data: Data) -> bool:
        events = _events(data, "completed")
        if len(events) < 2:
            return False
        event = events[-1]
        if name == "seq":
            event["seq"] = events[0]["seq"]
        elif name == "kind":
            event["kind"] = "started"
        elif name == "path":
            event["path"] = [["elsewhere", 0]]
        else:
            event[name] = _other(event[name])
        return True

    return perturb


def _detail(kind: str, key: str) -> Perturb:
    def perturb(data: Data) -> bool:
        events = _events(data, kind, key)
        if not events:
            return False
        events[0]["detail"][key] = _other(events[0]["detail"][key])
        return True

    return perturb


def _set(name: str, value: Callable[[Any], Any]) -> Perturb:
    def perturb(data: Data) -> bool:
        data[name] = value(data[name])
        return True

    return perturb


def _when(name: str, present: Callable[[Any], bool], change: Callable[[Any], Any]) -> Perturb:
    def perturb(data: Data) -> bool:
        if not present(data[name]):
            return False
        data[name] = change(data[name])
        return True

    return perturb


def _metrics(name: str) -> Perturb:
    def perturb(data: Data) -> bool:
        data["metrics"][name] = data["metrics"][name] + 3
        return True

    return perturb


def _extra_detail(data: Data) -> bool:
    for event in data["trace"]:
        event["detail"]["engine_own_note"] = "only here"
    return True


def _backoff_time(data: Data) -> bool:
    """A retried attempt that starts later than its backoff said (the clock time within one
    execution is fixed, §8)."""
    retried = [e for e in _events(data, "started") if e["attempt"] > 1]
    if not retried:
        return False
    retried[0]["time"] += 1.25
    return True


def test_when_executions_begin_and_compensate_is_free() -> None:
    """§9: the time an execution begins, and compensation times, may differ."""
    checked = 0
    for result, workflow in real_results()[:40]:
        data = result.model_dump(by_alias=True)
        shifts: dict[tuple[Any, ...], float] = {}
        for event in data["trace"]:
            key = (event["node"], tuple(map(tuple, event["path"])))
            shift = shifts.setdefault(key, 0.5 * (len(shifts) % 5))
            event["time"] += shift + (3.0 if event["kind"] == "compensated" else 0.0)
        changed = RunResult.model_validate(data)
        left = EngineRun(engine="graph", status=result.status.value, result=result)
        right = EngineRun(engine="graph", status=changed.status.value, result=changed)
        comparison = compare_runs(left, right, workflow, Tolerances())
        assert comparison.compatible, (workflow.id, comparison.differences)
        checked += 1
    assert checked == 40


PERTURB: dict[str, Perturb] = {
    "RunResult.engine": _set("engine", lambda v: v + "-other"),
    "RunResult.workflow_id": _set("workflow_id", lambda v: v + "-other"),
    "RunResult.status": _when("status", lambda v: v == "completed", lambda v: "cancelled"),
    "RunResult.outputs": _set("outputs", lambda v: {**v, "extra": 1}),
    "RunResult.vars": _set("vars", lambda v: {**v, "extra": 1}),
    "RunResult.node_outputs": _set("node_outputs", lambda v: {**v, "extra": 1}),
    "RunResult.node_errors": _when("node_errors", bool, lambda v: {}),
    "RunResult.trace": _when("trace", bool, lambda v: v[:-1]),
    "RunResult.errors": _when("errors", bool, lambda v: v[:-1]),
    "RunResult.pause": _pause_field("prompt"),
    "RunResult.metrics": _metrics("node_executions"),
    **{f"NodeError.{n}": _error_field(n) for n in NodeError.model_fields},
    **{f"PauseInfo.{n}": _pause_field(n) for n in PauseInfo.model_fields},
    **{f"TraceEvent.{n}": _event_field(n) for n in TraceEvent.model_fields if n != "time"},
    "TraceEvent.time": _backoff_time,
    "TraceEvent.detail": _detail("skipped", "reason"),
    **{f"RunMetrics.{n}": _metrics(n) for n in RunMetrics.model_fields},
    **{
        f"detail.{kind}.{key}": _detail(kind, key)
        for kind, keys in DETAIL_KEYS.items()
        for key in keys
    },
    "detail.*.other keys": _extra_detail,
}


def _verdicts(name: str, limit: int = 12) -> list[tuple[bool, set[str], str]]:
    """For the first `limit` real results the perturbation applies to (fixture order):
    (compatible, differing dimensions, the result's workflow)."""
    out: list[tuple[bool, set[str], str]] = []
    for result, workflow in real_results():
        if len(out) == limit:
            break
        data = result.model_dump(by_alias=True)
        if not PERTURB[name](data):
            continue
        changed = RunResult.model_validate(data)
        left = EngineRun(engine="graph", status=result.status.value, result=result)
        right = EngineRun(engine="graph", status=changed.status.value, result=changed)
        comparison = compare_runs(left, right, workflow, Tolerances())
        out.append((comparison.compatible, set(comparison.differing_dimensions()), workflow.id))
    return out


def test_every_declared_field_has_a_perturbation() -> None:
    assert set(PERTURB) == set(CONTRACT)


@pytest.mark.parametrize("name", sorted(n for n, r in CONTRACT.items() if r.dimension))
def test_a_compared_field_that_differs_is_caught_in_its_dimension(name: str) -> None:
    verdicts = _verdicts(name)
    assert verdicts, f"no bundled case has a {name} to perturb: add one"
    dimension = CONTRACT[name].dimension
    for compatible, dimensions, workflow in verdicts:
        assert not compatible, (name, workflow)
        assert dimension in dimensions, (name, workflow, dimensions)


@pytest.mark.parametrize("name", sorted(n for n, r in CONTRACT.items() if not r.dimension))
def test_an_out_of_scope_field_raises_no_false_alarm(name: str) -> None:
    verdicts = _verdicts(name)
    assert verdicts
    for compatible, dimensions, workflow in verdicts:
        assert compatible and not dimensions, (name, workflow, dimensions)
