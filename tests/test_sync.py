"""Cross-engine resume and context merge (compat.sync, docs/harness-sync.md).

A run paused in one engine, converted through the common state and finished in the other,
gives what an uninterrupted run gives — checked at every pause of every fixture case that
pauses, in both directions, with the harness's own comparison; on hand-written workflows
that carry compensations, idempotency records, failed branches and nested containers
across the hand-off; and on random workflows (compat.fuzz's, with `input` nodes).
Corrupted states are refused with SnapshotInvalid naming the place, conversions never
change their input, and the merge strategies do what they say.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from compat.compare import compare_runs
from compat.engines import EngineRun, GraphAdapter, JourneyAdapter, run_engine
from compat.fuzz import Example, examples
from compat.sync import (
    CommonState,
    from_graph,
    from_journey,
    handoff,
    parse_state,
    to_graph,
    to_journey,
)
from compat.tolerances import Tolerances
from engines.clock import VirtualClock
from engines.documents import Fixture, load_fixture
from engines.errors import ConfigError, SnapshotInvalid
from engines.graph import GraphEngine
from engines.journey import JourneyEngine
from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunResult, RunStatus
from engines.tools import builtin_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DIRECTIONS = [("graph", "journey"), ("journey", "graph")]
READ: dict[str, Callable[..., CommonState]] = {"graph": from_graph, "journey": from_journey}
WRITE: dict[str, Callable[..., dict[str, Any]]] = {"graph": to_graph, "journey": to_journey}
ADAPTERS = {"graph": GraphAdapter, "journey": JourneyAdapter}


def _json(data: Any) -> Any:
    """Through JSON text, as a store would keep it."""
    return json.loads(json.dumps(data, allow_nan=False))


class Run:
    """One engine's run, turn by turn, on a fresh virtual clock (as the adapters do)."""

    def __init__(
        self, kind: str, registry: WorkflowRegistry, inputs: Any = None, saved: Any = None
    ) -> None:
        self.kind = kind
        self.result: RunResult | None = None
        if kind == "graph":
            self.engine: Any = GraphEngine(tools=builtin_registry(), clock=VirtualClock())
            if saved is None:
                self.run = self.engine.start(registry, inputs)
                self.result = self.engine.clock.run(self.run.run)
            else:
                self.run = self.engine.restore(registry, saved)
        else:
            self.engine = JourneyEngine(tools=builtin_registry(), clock=VirtualClock())
            if saved is None:
                self.run = self.engine.start_session(registry, inputs)
                self.result = self.engine.clock.run(self.run.start)
            else:
                self.run = self.engine.load_session(registry, saved)

    def answer(self, payload: Any) -> RunResult:
        turn = self.run.resume if self.kind == "graph" else self.run.reply
        self.result = self.engine.clock.run(lambda: turn(payload))
        return self.result

    def saved(self) -> dict[str, Any]:
        return _json(self.run.snapshot() if self.kind == "graph" else self.run.to_json())


def _paused_after(kind: str, registry: WorkflowRegistry, inputs: Any, answers: list[Any]) -> Run:
    run = Run(kind, registry, inputs)
    for payload in answers:
        run.answer(payload)
    assert run.result is not None and run.result.status is RunStatus.PAUSED
    return run


def _key(item: dict[str, Any]) -> Any:
    return json.dumps(item, sort_keys=True)


def _canonical(doc: dict[str, Any]) -> dict[str, Any]:
    """A saved run with its set-like lists in one order. They record what happened, not in
    which order it arrived: each engine sorts them by order key where it uses them (pending
    inputs, idempotency records, compensations, the containers running in a level), so a
    run that came back through the common state may list them in another order (and so
    carry another integrity digest, which each engine checks on its own copy)."""
    out = copy.deepcopy(doc)
    out.pop("integrity", None)
    for name in ("pending", "questions", "records", "compensations", "undo"):
        if isinstance(out.get(name), list):
            out[name] = sorted(out[name], key=_key)
    if isinstance(out.get("idempotency"), list):
        for entry in out["idempotency"]:
            entry["records"] = sorted(entry["records"], key=_key)
        out["idempotency"] = sorted(out["idempotency"], key=_key)

    def level(frame: Any) -> None:
        if not isinstance(frame, dict):
            return
        runs = frame.get("runs")
        if isinstance(runs, list):
            for run in runs:
                level(run.get("child"))
                for child in (run.get("active") or {}).values():
                    level(child)
            frame["runs"] = sorted(runs, key=_key)

    level(out.get("frame"))
    return out


def _convert(saved: dict[str, Any], source: str, target: str, registry: Any) -> dict[str, Any]:
    """source JSON -> common state -> its JSON text -> target JSON."""
    common = READ[source](saved, registry)
    common = parse_state(_json(common.model_dump(mode="json")))
    return _json(WRITE[target](common, registry))


def _steps(result: RunResult) -> Counter[Any]:
    return Counter(e.step() for e in result.trace)


def _differences(result: RunResult, expected: RunResult, registry: WorkflowRegistry) -> Any:
    left = EngineRun(engine=result.engine, status=result.status.value, result=result)
    right = EngineRun(engine=expected.engine, status=expected.status.value, result=expected)
    return compare_runs(left, right, registry.main, Tolerances())


def _assert_same(result: RunResult, expected: RunResult, registry: WorkflowRegistry) -> None:
    """The harness finds no difference, and every field the contract says must be equal is."""
    comparison = _differences(result, expected, registry)
    assert comparison.compatible and comparison.score == 1.0, comparison
    for field in ("status", "outputs", "vars", "node_outputs", "errors", "node_errors", "pause"):
        assert getattr(result, field) == getattr(expected, field), field
    assert _steps(result) == _steps(expected)


def _check_handoff(
    registry: WorkflowRegistry,
    inputs: Any,
    conversation: list[Any],
    k: int,
    source: str,
    target: str,
    expected: dict[str, RunResult],
) -> None:
    """Pause `source` after k answers, continue in `target`, compare with both engines'
    uninterrupted runs."""
    first = _paused_after(source, registry, inputs, conversation[:k])
    paused = first.result
    assert paused is not None
    second = Run(target, registry, saved=_convert(first.saved(), source, target, registry))
    for payload in conversation[k:]:
        second.answer(payload)
        if second.result is not None and second.result.status is not RunStatus.PAUSED:
            break
    assert second.result is not None
    assert second.result.engine == target
    assert not _steps(paused) - _steps(second.result)  # the trace before the pause survived
    for uninterrupted in expected.values():
        _assert_same(second.result, uninterrupted, registry)


# --------------------------------------------------------------------------- fixtures


@cache
def _fixture(name: str) -> Fixture:
    return load_fixture(FIXTURES / name, tools=builtin_registry())


def _pauses() -> tuple[list[Any], list[Any]]:
    """(pauses with answers left, pauses at the end of the conversation) of every fixture
    case whose conversation is non-empty, as (file, case, k answers before the pause)."""
    resumable, final = [], []
    for path in sorted(FIXTURES.glob("*.yaml")):
        fixture = _fixture(path.name)
        for case in fixture.cases:
            if not case.conversation:
                continue
            run = Run("graph", fixture.registry, case.inputs)
            for k in range(len(case.conversation) + 1):
                assert run.result is not None
                if run.result.status is not RunStatus.PAUSED:
                    break
                param = pytest.param(path.name, case.name, k, id=f"{path.stem}::{case.name}::{k}")
                (resumable if k < len(case.conversation) else final).append(param)
                if k < len(case.conversation):
                    run.answer(case.conversation[k])
    return resumable, final


RESUMABLE, FINAL = _pauses()
PAUSES = RESUMABLE + FINAL


def _expected(registry: WorkflowRegistry, inputs: Any, conversation: Any) -> dict[str, RunResult]:
    """Each engine's uninterrupted run, through the harness's adapters."""
    out = {}
    for kind, adapter in ADAPTERS.items():
        run = run_engine(adapter(), registry, inputs, conversation)
        assert run.result is not None, run.error
        out[kind] = run.result
    return out


@cache
def _uninterrupted(file: str, case_name: str) -> dict[str, RunResult]:
    case = _fixture(file).case(case_name)
    return _expected(_fixture(file).registry, case.inputs, case.conversation)


def test_every_pausing_fixture_case_is_covered() -> None:
    cases = {(p.values[0], p.values[1]) for p in PAUSES}
    assert len(cases) >= 21 and len(RESUMABLE) >= 20 and len(PAUSES) >= 30


@pytest.mark.parametrize(("source", "target"), DIRECTIONS, ids=["graph->journey", "journey->graph"])
@pytest.mark.parametrize(("file", "case_name", "k"), RESUMABLE)
def test_a_fixture_run_paused_in_one_engine_finishes_in_the_other(
    file: str, case_name: str, k: int, source: str, target: str
) -> None:
    fixture = _fixture(file)
    case = fixture.case(case_name)
    expected = _uninterrupted(file, case_name)
    _check_handoff(
        fixture.registry, case.inputs, list(case.conversation), k, source, target, expected
    )


def _neutral(state: CommonState) -> dict[str, Any]:
    """What both engines must agree on: everything but the run's id, where it came from,
    engine-specific extensions, the order of the trace, and the clock time elapsed (§9: an
    engine may run concurrent work one at a time, so a pause may come later on its clock)."""
    return state.model_dump(
        mode="json", exclude={"run_id", "source", "extensions", "trace", "elapsed"}
    )


@pytest.mark.parametrize(("file", "case_name", "k"), PAUSES)
def test_both_engines_pause_in_the_same_common_state(file: str, case_name: str, k: int) -> None:
    fixture = _fixture(file)
    case = fixture.case(case_name)
    answers = list(case.conversation[:k])
    graph = from_graph(
        _paused_after("graph", fixture.registry, case.inputs, answers).saved(), fixture.registry
    )
    journey = from_journey(
        _paused_after("journey", fixture.registry, case.inputs, answers).saved(), fixture.registry
    )
    assert _neutral(graph) == _neutral(journey)
    assert Counter(e.step() for e in graph.trace) == Counter(e.step() for e in journey.trace)


@pytest.mark.parametrize(("source", "target"), DIRECTIONS, ids=["graph->journey", "journey->graph"])
@pytest.mark.parametrize(("file", "case_name", "k"), FINAL)
def test_a_run_handed_off_at_its_last_pause_waits_at_the_same_question(
    file: str, case_name: str, k: int, source: str, target: str
) -> None:
    fixture = _fixture(file)
    case = fixture.case(case_name)
    first = _paused_after(source, fixture.registry, case.inputs, list(case.conversation))
    second = Run(
        target, fixture.registry, saved=_convert(first.saved(), source, target, fixture.registry)
    )
    before = READ[source](first.saved(), fixture.registry)
    after = READ[target](second.saved(), fixture.registry)
    assert _neutral(after) == _neutral(before)
    assert [e.step() for e in after.trace] == [e.step() for e in before.trace]


@pytest.mark.parametrize("kind", ["graph", "journey"])
@pytest.mark.parametrize(("file", "case_name", "k"), PAUSES)
def test_a_round_trip_through_the_common_state_is_lossless_and_resumes_identically(
    file: str, case_name: str, k: int, kind: str
) -> None:
    fixture = _fixture(file)
    case = fixture.case(case_name)
    saved = _paused_after(kind, fixture.registry, case.inputs, list(case.conversation[:k])).saved()
    kept = copy.deepcopy(saved)
    common = READ[kind](saved, fixture.registry)
    assert saved == kept  # pure: the input is not changed
    again = _convert(saved, kind, kind, fixture.registry)
    assert _canonical(again) == _canonical(saved)
    assert READ[kind](again, fixture.registry) == common
    dumped = common.model_dump(mode="json")
    for target in ("graph", "journey"):  # what is written shares nothing with the state
        written = WRITE[target](common, fixture.registry)
        written["inputs"]["§"] = written["vars"]["§"] = 1
        level = written["frame"]["view"] if target == "graph" else written["walk"]["settled"]
        for state in level.values():
            state["status"] = "§"
        assert common.model_dump(mode="json") == dumped
    if k < len(case.conversation):
        _check_handoff(
            fixture.registry,
            case.inputs,
            list(case.conversation),
            k,
            kind,
            kind,
            _uninterrupted(file, case_name),
        )


# --------------------------------------------------------------------------- scenarios


#: Hand-written workflows: what fixtures never carry across a pause.
SCENARIOS: dict[str, Any] = yaml.safe_load(
    """
saga:  # a compensated, idempotent charge and a retried call before the pause; the
       # duplicate after it reuses the carried record; a failure compensates the charge
  conversation: ["no"]
  nodes:
    - {id: start, type: start}
    - {id: charge, type: tool, params: {tool: echo, args: {n: 1}}, idempotency_key: order-1,
       compensate: {tool: echo, args: {undo: "{{ nodes.charge.output }}"}}}
    - {id: retry, type: tool, params: {tool: flaky, args: {failures: 1}},
       retry: {max_attempts: 2, initial_interval: 1}}
    - {id: ask, type: input, params: {prompt: "Answer?"}}
    - {id: again, type: tool, params: {tool: echo, args: {n: 2}}, idempotency_key: order-1}
    - {id: check, type: condition, params: {expression: "nodes.ask.output == 'ok'"}}
    - {id: boom, type: fail, params: {code: REFUSED, message: "no"}}
    - {id: done, type: end, params: {outputs: {paid: "{{ nodes.again.output }}"}}}
  edges: [start > charge, charge > retry, retry > ask, ask > again, again > check,
          check.true > done, check.false > boom]
failed-branch:  # branch 0 fails while branches 1 and 2 wait; the error port recovers
  conversation: [1, 2]
  nodes:
    - {id: start, type: start}
    - {id: fan, type: parallel, params: {mode: count, count: 3, max_concurrency: 2}}
    - {id: bs, type: start, parent: fan}
    - {id: pick, type: condition, parent: fan, params: {expression: "parallel.index == 0"}}
    - {id: broken, type: fail, parent: fan, params: {code: BRANCH, message: b0}}
    - {id: ask, type: input, parent: fan, params: {prompt: "Answer?"}}
    - {id: exit, type: transform, parent: fan, params: {value: "{{ nodes.ask.output }}"}}
    - {id: recover, type: transform, params: {value: "{{ nodes.fan.error.code }}"}}
    - {id: done, type: end, params: {outputs: {code: "{{ nodes.recover.output }}"}}}
  edges: [bs > pick, pick.true > broken, pick.false > ask, ask > exit, start > fan,
          fan.error > recover, recover > done]
nested:  # a parallel in a loop, inputs in its body, a routed INPUT_INVALID, a variable
  conversation: [1, x, 3, 4]
  variables: {seen: 0}
  nodes:
    - {id: start, type: start}
    - {id: outer, type: loop, params: {mode: for, count: 2}}
    - {id: ls, type: start, parent: outer}
    - {id: inner, type: parallel, parent: outer,
       params: {mode: collection, items: [1, 2], max_concurrency: 1}}
    - {id: ps, type: start, parent: inner}
    - {id: ask, type: input, parent: inner,
       params: {prompt: "{{ loop.index }}/{{ parallel.item }}?", schema: {type: integer}}}
    - {id: bad, type: transform, parent: inner, params: {value: invalid}}
    - {id: pexit, type: transform, parent: inner,
       params: {value: "{{ [parallel.item, nodes.ask.status] }}"}}
    - {id: tally, type: set, parent: outer, params: {values: {seen: "{{ vars.seen + 1 }}"}}}
    - {id: done, type: end, params: {outputs: {r: "{{ nodes.outer.output }}"}}}
  edges: [ls > inner, inner > tally, ps > ask, ask > pexit, ask.error > bad, bad > pexit,
          start > outer, outer > done]
"""
)


def _document(name: str) -> dict[str, Any]:
    """A scenario's workflow; an edge `a.h > b` leaves `a` by handle `h`."""
    spec = SCENARIOS[name]
    edges = []
    for edge in spec["edges"]:
        source, target = (part.strip() for part in edge.split(">"))
        source, _, handle = source.partition(".")
        edges.append({"source": source, "target": target, "handle": handle or "out"})
    return {
        "id": name,
        "variables": spec.get("variables", {}),
        "nodes": spec["nodes"],
        "edges": edges,
    }


def _scenario_params() -> Iterator[Any]:
    for name, spec in SCENARIOS.items():
        for k in range(len(spec["conversation"])):
            yield pytest.param(name, k, id=f"{name}::{k}")


@cache
def _scenario(name: str) -> tuple[WorkflowRegistry, dict[str, RunResult]]:
    registry = WorkflowRegistry([validate_workflow(_document(name))], tools=builtin_registry())
    expected = _expected(registry, {}, SCENARIOS[name]["conversation"])
    assert _steps(expected["graph"]) == _steps(expected["journey"])
    return registry, expected


@pytest.mark.parametrize(("source", "target"), DIRECTIONS, ids=["graph->journey", "journey->graph"])
@pytest.mark.parametrize(("name", "k"), list(_scenario_params()))
def test_records_failures_and_nested_containers_survive_the_hand_off(
    name: str, k: int, source: str, target: str
) -> None:
    registry, expected = _scenario(name)
    _check_handoff(registry, {}, SCENARIOS[name]["conversation"], k, source, target, expected)


def test_the_scenarios_exercise_what_they_claim() -> None:
    saga = _scenario("saga")[1]["graph"]
    kinds = {e.kind.value for e in saga.trace}
    assert {"compensated", "deduplicated", "retrying"} <= kinds and saga.status is RunStatus.FAILED
    state = from_graph(
        _paused_after("graph", _scenario("saga")[0], {}, []).saved(), _scenario("saga")[0]
    )
    assert state.idempotency and state.compensations
    registry = _scenario("failed-branch")[0]
    state = from_journey(_paused_after("journey", registry, {}, []).saved(), registry)
    fan = state.top.containers[0]
    assert fan.kind == "parallel" and set(fan.failures) == {"0"} and set(fan.active) == {"1", "2"}
    assert _scenario("failed-branch")[1]["graph"].outputs == {"code": "BRANCH"}
    registry = _scenario("nested")[0]
    state = from_graph(_paused_after("graph", registry, {}, [1, "x"]).saved(), registry)
    outer = state.top.containers[0]
    assert outer.kind == "loop" and outer.index == 1 and state.vars == {"seen": 1}


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(example=examples(features="+input,-cancel", min_answers=1))
def test_random_workflows_hand_off_at_every_pause(example: Example) -> None:
    registry, case = example.generated.registry, example.case
    expected = _expected(registry, case.inputs, case.conversation)
    probe = Run("graph", registry, case.inputs)
    for k, payload in enumerate(case.conversation):
        if probe.result is None or probe.result.status is not RunStatus.PAUSED:
            break
        for source, target in DIRECTIONS:
            _check_handoff(registry, case.inputs, case.conversation, k, source, target, expected)
        probe.answer(payload)


# --------------------------------------------------------------------------- refusals


@cache
def _sample(kind: str) -> tuple[WorkflowRegistry, dict[str, Any]]:
    """A paused run with a parallel of two waiting branches."""
    fixture = _fixture("conversation_input_in_parallel.yaml")
    case = fixture.case("branch-zero-first")
    return fixture.registry, _paused_after(kind, fixture.registry, case.inputs, []).saved()


_GONE = object()  # a key deleted by a mutation
_GHOST = {"output": 1, "error": None, "status": "completed"}
#: (place in the snapshot, new value or _GONE, what the refusal says)
GRAPH_CORRUPTIONS = {
    "no-frame": (("frame",), _GONE, "malformed: frame"),
    "unknown-node": (("frame", "view", "ghost"), _GHOST, "top frame: view names ghost"),
    "waits-on-transform": (
        ("frame", "runs", 0, "active", "1", "waiting"),
        ["tag"],
        "frame survey[1]: waiting names 'tag', which is not an input",
    ),
    "too-many-branches": (
        ("frame", "runs", 0, "next_index"),
        5,
        "next_index = 5 does not fit 2 branches",
    ),
    "wrong-branch-path": (
        ("frame", "runs", 0, "active", "1", "path"),
        [["survey", 0]],
        "frame survey[1]: is recorded as frame survey[0]",
    ),
    "lost-counter": (("frame", "fired", "done"), _GONE, "top frame: fired lacks done"),
    "stuck-node": (("frame", "remaining", "done"), 0, "'done' is not resolved, not running"),
    "question-not-waiting": (("pending", 0, "node"), "tag", "pending inputs: do not match"),
    "unasked-input": (("pending", 1), _GONE, "do not match the waiting inputs (ask)"),
    "other-version": (("workflow", "hash"), "x", "another version"),
    "version": (("version",), 2, "version 2 is not supported"),
    "format": (("format",), "zip", "not a graph snapshot"),
    "status": (("status",), "completed", "only paused runs"),
    "trace-node": (("events", 1, "node"), "ghost", "event seq 1: names node 'ghost'"),
}


def _edited(data: Any, place: tuple[Any, ...], value: Any) -> Any:
    """A copy of `data` with `value` at `place` (a key or index per step), or without it."""
    out = target = copy.deepcopy(data)
    for step in place[:-1]:
        target = target[step]
    if value is _GONE:
        del target[place[-1]]
    else:
        target[place[-1]] = value
    return out


@pytest.mark.parametrize("name", GRAPH_CORRUPTIONS)
def test_a_corrupted_graph_snapshot_is_refused_with_the_place_named(name: str) -> None:
    registry, saved = _sample("graph")
    place, value, message = GRAPH_CORRUPTIONS[name]
    with pytest.raises(SnapshotInvalid) as caught:
        from_graph(_edited(saved, place, value), registry)
    assert message in str(caught.value)


def test_corrupted_sessions_and_common_states_are_refused_with_the_place_named() -> None:
    registry, saved = _sample("journey")
    data = copy.deepcopy(saved)
    data["walk"]["counters"][0]["active"]["0"]["settled"]["ask"] = {
        "output": 1,
        "error": None,
        "status": "completed",
    }
    with pytest.raises(
        SnapshotInvalid, match=r"walk survey\[0\]: ask listed as running twice, or both settled"
    ):
        from_journey(data, registry)
    with pytest.raises(SnapshotInvalid, match="must be a mapping"):
        from_journey([1], registry)
    common = from_journey(saved, registry).model_dump(mode="json")
    for edit, message in [
        (lambda d: d["questions"][0].update(order_key=[9, 9, 9]), "order key"),
        (lambda d: d["questions"].pop(), "do not match the waiting inputs"),
        (lambda d: d.update(version=7), "common state version 7"),
        (lambda d: d["top"]["containers"][0].update(opened=1), "opened = 1 does not fit 2"),
        (lambda d: d["top"].pop("resolved"), "common state is malformed: top.resolved"),
        (lambda d: d.update(workflow={"id": "other", "hash": "h"}), "of workflow 'other'"),
    ]:
        broken = copy.deepcopy(common)
        edit(broken)
        for target in ("graph", "journey"):
            with pytest.raises(SnapshotInvalid, match=message):
                WRITE[target](broken, registry)


def _mutants(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every place in a JSON document, with a deleted key or a value of another kind."""
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, value in items:
        if isinstance(data, dict):
            yield (*path, key), _GONE
        for bad in (None, -1, "§", [], {"§": 1}):
            if bad != value:
                yield (*path, key), bad
        yield from _mutants(value, (*path, key))


@pytest.mark.parametrize("kind", ["graph", "journey", "common"])
def test_no_corruption_escapes_as_anything_but_snapshot_invalid(kind: str) -> None:
    registry, saved = _sample("graph" if kind == "common" else kind)
    if kind == "common":
        saved = from_graph(saved, registry).model_dump(mode="json")
    tried = refused = 0
    for where, value in _mutants(saved):
        data = _edited(saved, where, value)
        tried += 1
        try:
            common = parse_state(data) if kind == "common" else READ[kind](data, registry)
            for target in ("graph", "journey"):
                converted = WRITE[target](common, registry)
                Run(target, registry, saved=converted)  # the engine takes what we give it
        except SnapshotInvalid as exc:
            refused += 1
            assert str(exc)
    assert tried > 300 and refused > tried // 2


def test_handoff_takes_live_runs_or_documents_and_names_bad_engines() -> None:
    registry, saved = _sample("graph")
    live = _paused_after("journey", registry, {"people": ["alice", "bob"]}, [])
    assert handoff(live.run, "journey", "graph") == to_graph(
        from_journey(live.saved(), registry), registry
    )
    assert handoff(saved, "graph", "journey", registry=registry) == to_journey(
        from_graph(saved, registry), registry
    )
    with pytest.raises(
        ConfigError, match=r"unknown target engine 'parlant' \(known: graph, journey\)"
    ):
        handoff(saved, "graph", "parlant", registry=registry)
    with pytest.raises(ConfigError, match="needs the workflow registry"):
        handoff(saved, "graph", "journey")
    with pytest.raises(ConfigError, match="was given a paused journey run"):
        handoff(live.run, "graph", "journey")
