"""The short cuts for equal results (compat/compare/shortcut.py) give exactly the comparison
the full walk gives.

Every bundled case (fixtures/*.yaml and fixtures/found/*.yaml) is run on both engines, and the
graph engine twice; each pair, and each pair with the shadow perturbed one way or another
(a leaf changed with or without its type — `1` to `True`, `1` to `1.0` —, two events
swapped, an event's detail changed, an event dropped, a time or a `seq` changed, an error
or the pause point changed …), is compared with the short cuts and again with the walk
forced, under the default tolerances and under loose ones; so are awkward values put on
both sides alike (a nan, an infinite time, a str subclass). The two `Comparison`s must be
equal, down to the types of the values they report. And equal results must not be walked
at all: the walk is made to fail, and they are compared anyway.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import compat.compare.trace as trace_module
import compat.compare.values as values_module
from compat.compare import Comparison, compare_runs
from compat.compare.events import events_of
from compat.compare.shortcut import _forced_walk
from compat.compare.trace import compare_traces
from compat.engines import EngineRun, GraphAdapter, JourneyAdapter, run_engine
from compat.tolerances import Tolerances
from engines.documents import load_fixture
from engines.model import ValidatedWorkflow, WorkflowRegistry
from engines.result import NodeError, RunResult, RunStatus, TraceEvent, TraceKind

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FILES = sorted(FIXTURES.glob("*.yaml")) + sorted((FIXTURES / "found").glob("*.yaml"))

LOOSE = Tolerances(
    abs_tol=0.5,
    rel_tol=0.01,
    time_tol=0.5,
    strict_numeric_types=False,
    ignore_case=True,
    normalize_whitespace=True,
    compare_messages=False,
    ignore_paths=("**.b0", "context.nodes.start"),
    unordered_paths=("**.items",),
    error_codes={"TOOL_ERROR": "TOOL_FAILED"},
    policy="threshold",
)
TOLERANCES = {"default": Tolerances(), "loose": LOOSE}


class Pair(NamedTuple):
    name: str
    primary: EngineRun
    shadow: EngineRun
    workflow: ValidatedWorkflow
    registry: WorkflowRegistry


@cache
def pairs() -> tuple[Pair, ...]:
    """Every bundled case: (graph, journey) and (graph, graph run again)."""
    out = []
    for path in FILES:
        fixture = load_fixture(path)
        for case in fixture.cases:
            runs = [
                run_engine(
                    engine, fixture.registry, case.inputs, case.conversation, cancel=case.cancel
                )
                for engine in (GraphAdapter(), JourneyAdapter(), GraphAdapter())
            ]
            name = f"{path.stem}:{case.name}"
            for label, shadow in (("journey", runs[1]), ("graph again", runs[2])):
                pair = Pair(
                    f"{name} ({label})", runs[0], shadow, fixture.workflow, fixture.registry
                )
                out.append(pair)
    return tuple(out)


def both(pair: Pair, shadow: EngineRun, tol: Tolerances) -> tuple[Comparison, Comparison]:
    """The comparison with the short cuts, and with the walk forced."""
    fast = compare_runs(pair.primary, shadow, pair.workflow, tol, registry=pair.registry)
    with _forced_walk():
        slow = compare_runs(pair.primary, shadow, pair.workflow, tol, registry=pair.registry)
    return fast, slow


def assert_same(fast: Comparison, slow: Comparison, why: Any) -> None:
    """Equal, down to the types of the values reported (`==` calls `True` and `1` equal,
    and a nan unequal to itself): their reprs agree."""
    assert repr(fast.model_dump()) == repr(slow.model_dump()), why


# ----------------------------------------------------------------- perturbations

Result = RunResult
Perturb = Callable[[Result, random.Random], Result | None]


def _events(result: Result) -> list[TraceEvent]:
    return [
        TraceEvent(
            seq=e.seq,
            kind=e.kind,
            node=e.node,
            attempt=e.attempt,
            path=e.path,
            time=e.time,
            detail=dict(e.detail),
        )
        for e in events_of(result)
    ]


def _with(result: Result, **update: Any) -> Result:
    return result.model_copy(update=update)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every scalar leaf of a JSON-like value."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


def _values(result: Result) -> dict[str, Any]:
    return copy.deepcopy(
        {"outputs": result.outputs, "vars": result.vars, "node_outputs": result.node_outputs}
    )


def _retyped(value: Any, rng: random.Random) -> Any:
    """Another type, equal under Python's `==` where it can be: 1 -> True or 1.0 …"""
    if isinstance(value, bool):
        return int(value) if rng.random() < 0.5 else float(value)
    if isinstance(value, int):
        if value in (0, 1) and rng.random() < 0.5:
            return bool(value)
        return float(value) if abs(value) < 2**53 else str(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else str(value)
    if value is None:
        return False
    return [value]


def _changed(value: Any, rng: random.Random) -> Any:
    """Another value of the same type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice((1, -1))
    if isinstance(value, float):
        return value + rng.choice((0.25, 1e-9, 3.0))
    if isinstance(value, str):
        return value + rng.choice(("'", " ", "X"))
    return "changed"


def _leaf(change: Callable[[Any, random.Random], Any]) -> Perturb:
    def perturb(result: Result, rng: random.Random) -> Result | None:
        values = _values(result)
        leaves = _leaves(values)
        if not leaves or all(len(p) == 1 for p in leaves):
            return None
        path = rng.choice([p for p in leaves if len(p) > 1])
        parent = values
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = change(parent[path[-1]], rng)
        return _with(result, **values)

    return perturb


def _one_is_true(result: Result, rng: random.Random) -> Result | None:
    """Every `1` of the values becomes `True` (and `0` `False`), or `1.0`."""
    values = _values(result)
    ints = [p for p in _leaves(values) if len(p) > 1]
    changed = False
    for path in ints:
        parent = values
        for key in path[:-1]:
            parent = parent[key]
        value = parent[path[-1]]
        if type(value) is int and value in (0, 1):
            parent[path[-1]] = bool(value) if rng.random() < 0.5 else float(value)
            changed = True
    return _with(result, **values) if changed else None


def _reversed_keys(result: Result, rng: random.Random) -> Result | None:
    """The same values, dicts in another order (no difference)."""
    values = _values(result)
    values["node_outputs"] = dict(reversed(values["node_outputs"].items()))
    values["vars"] = dict(reversed(values["vars"].items()))
    return _with(result, **values)


def _swap(result: Result, rng: random.Random) -> Result | None:
    events = _events(result)
    if len(events) < 2:
        return None
    i = rng.randrange(len(events) - 1)
    j = i + 1 if rng.random() < 0.6 else rng.randrange(len(events))
    events[i], events[j] = events[j], events[i]
    return _with(result, trace=tuple(events))


def _drop(result: Result, rng: random.Random) -> Result | None:
    events = _events(result)
    if not events:
        return None
    del events[rng.randrange(len(events))]
    return _with(result, trace=tuple(events))


def _detail(change: Callable[[Any, random.Random], Any]) -> Perturb:
    def perturb(result: Result, rng: random.Random) -> Result | None:
        events = _events(result)
        detailed = [e for e in events if e.detail]
        if not detailed:
            return None
        event = rng.choice(detailed)
        key = rng.choice(sorted(event.detail))
        event.detail[key] = change(event.detail[key], rng)
        return _with(result, trace=tuple(events))

    return perturb


def _extra_detail(result: Result, rng: random.Random) -> Result | None:
    """A detail key of the engine's own (out of scope: no difference)."""
    events = _events(result)
    if not events:
        return None
    rng.choice(events).detail["engine_own"] = 1
    return _with(result, trace=tuple(events))


def _time(shift: Callable[[list[TraceEvent], random.Random], None]) -> Perturb:
    def perturb(result: Result, rng: random.Random) -> Result | None:
        events = _events(result)
        if not events:
            return None
        shift(events, rng)
        return _with(result, trace=tuple(events))

    return perturb


def _one_later(events: list[TraceEvent], rng: random.Random) -> None:
    i = rng.randrange(len(events))
    events[i] = events[i].model_copy(update={"time": events[i].time + rng.choice((0.25, 1e-12))})


def _all_later(events: list[TraceEvent], rng: random.Random) -> None:
    events[:] = [e.model_copy(update={"time": e.time + 2.0}) for e in events]


def _seq_offset(events: list[TraceEvent], rng: random.Random) -> None:
    events[:] = [e.model_copy(update={"seq": e.seq + 7}) for e in events]


def _seq_broken(events: list[TraceEvent], rng: random.Random) -> None:
    if len(events) > 1:
        i = rng.randrange(1, len(events))
        events[i] = events[i].model_copy(update={"seq": events[i - 1].seq})


class LeanEvent(NamedTuple):
    """An event of another shape, its kind a plain `str` (the engines' lean events)."""

    seq: int
    kind: str
    node: str
    attempt: int
    path: Any
    time: float
    detail: dict[str, Any]


def _lean(result: Result, rng: random.Random) -> Result | None:
    """The same trace as other objects, kinds as plain text (no difference)."""
    events = tuple(
        LeanEvent(e.seq, e.kind.value, e.node, e.attempt, e.path, e.time, dict(e.detail))
        for e in _events(result)
    )
    return _with(result, trace=events)


def _error(change: Callable[[NodeError, random.Random], NodeError]) -> Perturb:
    def perturb(result: Result, rng: random.Random) -> Result | None:
        if result.errors:
            i = rng.randrange(len(result.errors))
            errors = list(result.errors)
            errors[i] = change(errors[i], rng)
            return _with(result, errors=tuple(errors))
        if result.node_errors:
            node = rng.choice(sorted(result.node_errors))
            routed = dict(result.node_errors)
            routed[node] = change(routed[node], rng)
            return _with(result, node_errors=routed)
        return None

    return perturb


def _message(error: NodeError, rng: random.Random) -> NodeError:
    return error.model_copy(update={"message": error.message.upper() + "  !"})


def _attempts_true(error: NodeError, rng: random.Random) -> NodeError:
    """`attempts` 1 as `True`, or another number."""
    value = True if error.attempts == 1 else error.attempts + 1
    return error.model_copy(update={"attempts": value})


def _no_errors(result: Result, rng: random.Random) -> Result | None:
    if not result.errors and not result.node_errors:
        return None
    return _with(result, errors=result.errors[:-1], node_errors={})


def _pause(result: Result, rng: random.Random) -> Result | None:
    if result.pause is None:
        return None
    return _with(result, pause=result.pause.model_copy(update={"prompt": "elsewhere"}))


def _status(result: Result, rng: random.Random) -> Result | None:
    other = "failed" if result.status.value == "completed" else "completed"
    return _with(result, status=RunStatus(other))


PERTURB: dict[str, Perturb] = {
    "leaf, same type": _leaf(_changed),
    "leaf, another type": _leaf(_retyped),
    "1 as True or 1.0": _one_is_true,
    "dicts in another order": _reversed_keys,
    "two events swapped": _swap,
    "an event dropped": _drop,
    "a detail, same type": _detail(_changed),
    "a detail, another type": _detail(_retyped),
    "a detail of the engine's own": _extra_detail,
    "one event later": _time(_one_later),
    "every event later": _time(_all_later),
    "seq offset": _time(_seq_offset),
    "seq broken": _time(_seq_broken),
    "events of another shape": _lean,
    "an error's message": _error(_message),
    "an error's attempts": _error(_attempts_true),
    "errors dropped": _no_errors,
    "the pause point": _pause,
    "the status": _status,
}


# ----------------------------------------------------------------- the tests


@pytest.mark.parametrize("tolerances", sorted(TOLERANCES))
def test_unperturbed_pairs_compare_alike_with_and_without_short_cuts(tolerances: str) -> None:
    tol = TOLERANCES[tolerances]
    for pair in pairs():
        assert_same(*both(pair, pair.shadow, tol), pair.name)


def _perturbed(pair: Pair, result: Result) -> EngineRun:
    return pair.shadow.model_copy(update={"result": result, "status": result.status.value})


@pytest.mark.parametrize("name", sorted(PERTURB))
def test_perturbed_pairs_compare_alike_with_and_without_short_cuts(name: str) -> None:
    """Each perturbation on every case it applies to, with seeded random choices, on the
    shadow of one of the case's pairs: the graph engine's second run (equal but for the
    perturbation) or the journey engine's; every third case under loose tolerances."""
    applied = 0
    every = pairs()
    for case in range(0, len(every), 2):
        rng = random.Random(f"{name}:{case}")
        pair = every[case + rng.randrange(2)]
        assert pair.shadow.result is not None
        changed = PERTURB[name](pair.shadow.result, rng)
        if changed is None:
            continue
        tol = TOLERANCES["loose" if case % 3 == 2 else "default"]
        fast, slow = both(pair, _perturbed(pair, changed), tol)
        assert_same(fast, slow, f"{name}: {pair.name}")
        applied += 1
    assert applied, f"no bundled case to perturb with {name!r}"


def test_a_perturbation_that_matters_is_seen() -> None:
    """The perturbations do what they say (else the test above proves little)."""
    pair = next(p for p in pairs() if "graph again" in p.name and p.shadow.result)
    assert pair.shadow.result is not None
    rng = random.Random(0)
    for name in ("leaf, another type", "1 as True or 1.0", "an event dropped", "the status"):
        changed = PERTURB[name](pair.shadow.result, rng)
        assert changed is not None, name
        fast, slow = both(pair, _perturbed(pair, changed), Tolerances())
        assert not fast.compatible and not slow.compatible, name


def _walk_refused(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("equal results were walked")


def test_equal_results_are_never_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The graph engine's two runs of a case are equal (it is deterministic): no partial
    order, no value walk, no deepdiff — the short cuts see it all."""
    equal = [p for p in pairs() if "graph again" in p.name and p.shadow.result is not None]
    monkeypatch.setattr(trace_module, "_Positions", _walk_refused)
    monkeypatch.setattr(values_module, "_Walk", _walk_refused)
    monkeypatch.setattr(values_module, "_deepdiff", _walk_refused)
    for pair in equal:
        comparison = compare_runs(
            pair.primary, pair.shadow, pair.workflow, Tolerances(), registry=pair.registry
        )
        assert comparison.compatible and comparison.score == 1.0, pair.name
    assert len(equal) > 100


def test_times_that_differ_are_compared_without_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same steps and details, another clock: only the timing is computed, and it is the
    walk's (a timing difference within one execution is found)."""
    pair = next(
        p
        for p in pairs()
        if "graph again" in p.name and p.shadow.result and len(events_of(p.shadow.result)) > 4
    )
    assert pair.shadow.result is not None
    events = _events(pair.shadow.result)
    events[-1] = events[-1].model_copy(update={"time": events[-1].time + 5.0})
    shadow = _perturbed(pair, _with(pair.shadow.result, trace=tuple(events)))
    fast, slow = both(pair, shadow, Tolerances())
    assert_same(fast, slow, pair.name)
    assert "timing" in {d.kind for d in fast.differences}
    monkeypatch.setattr(trace_module, "_Positions", _walk_refused)
    again = compare_runs(pair.primary, shadow, pair.workflow, Tolerances(), registry=pair.registry)
    assert again == fast


def test_a_kind_is_compared_as_its_text() -> None:
    """`TraceKind` members and plain text name the same kinds."""
    pair = next(p for p in pairs() if p.primary.result and p.primary.result.trace)
    assert pair.primary.result is not None
    lean = _lean(pair.primary.result, random.Random(0))
    assert lean is not None
    left, right = events_of(pair.primary.result), events_of(lean)
    fast = compare_traces(left, right, pair.workflow, weight=1.0, registry=pair.registry)
    with _forced_walk():
        slow = compare_traces(left, right, pair.workflow, weight=1.0, registry=pair.registry)
    assert repr(fast) == repr(slow)
    assert fast.score == 1.0 and not fast.differences


@pytest.mark.parametrize(
    ("left", "right", "identical"),
    [
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"a": True}, False),
        ({"a": 1}, {"a": 1.0}, False),
        ({"a": [0]}, {"a": [False]}, False),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),  # a dict's order is not its value
        ({"a": (1, 2)}, {"a": [1, 2]}, False),  # `==` says so: walked, found equal
        ({"a": float("nan")}, {"a": float("nan")}, False),
        ({"a": {1: "x"}}, {"a": {True: "x"}}, False),
        ({"a": 0.0}, {"a": -0.0}, False),
    ],
)
def test_identical_means_equal_with_the_same_json_types(
    left: Any, right: Any, identical: bool
) -> None:
    assert values_module._identical(left, right) is identical


def _retried() -> Pair:
    """A graph-twice pair whose trace has a retry (a `delay`) and a skip (a `reason`)."""
    for pair in pairs():
        result = pair.primary.result
        if "graph again" in pair.name and result is not None:
            kinds = {e.kind for e in events_of(result)}
            if {"retrying", "skipped"} <= kinds:
                return pair
    raise AssertionError("no bundled case retries and skips")


NAN = float("nan")

#: Awkward values put on both sides alike — the same object on both, where `==` takes
#: identity for equality: (event kind, what changes, the new value).
AWKWARD: list[tuple[str, str, Any]] = [
    ("retrying", "delay", NAN),
    ("retrying", "delay", float("inf")),
    ("retrying", "delay", [1.0, 2.0]),
    ("retrying", "code", None),
    ("skipped", "reason", TraceKind.SKIPPED),  # a str subclass
    ("skipped", "reason", {"why": [True, 1, 1.0]}),
    ("retrying", "time", NAN),
    ("retrying", "time", float("inf")),
    ("skipped", "time", 10**400),
]


@pytest.mark.parametrize(("kind", "what", "value"), AWKWARD)
def test_awkward_values_on_both_sides_compare_alike(kind: str, what: str, value: Any) -> None:
    """The short cut never calls a nan equal to itself where the walk does not, nor a
    time it cannot subtract equal (one side, then both sides changed)."""
    pair = _retried()
    assert pair.primary.result is not None and pair.shadow.result is not None

    def changed(result: Result) -> Result:
        events = _events(result)
        for i, event in enumerate(events):
            if event.kind == kind:
                if what == "time":
                    events[i] = event.model_copy(update={"time": value})
                else:
                    event.detail[what] = value
        return _with(result, trace=tuple(events))

    primary = pair.primary.model_copy(update={"result": changed(pair.primary.result)})
    for shadow in (pair.shadow, _perturbed(pair, changed(pair.shadow.result))):
        for tol in TOLERANCES.values():
            fast = compare_runs(primary, shadow, pair.workflow, tol, registry=pair.registry)
            with _forced_walk():
                slow = compare_runs(primary, shadow, pair.workflow, tol, registry=pair.registry)
            assert_same(fast, slow, (kind, what, value))
