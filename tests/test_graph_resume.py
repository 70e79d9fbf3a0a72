"""Graph engine: pause, snapshot, restore and resume — in memory, through JSON, through both
snapshot stores and in another process — always give the run an uninterrupted execution
gives (docs/graph-engine.md "Pause, resume, snapshots and stores"; docs/semantics.md §7.10,
§9)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import end, node, start, tool, workflow, write

from engines.clock import VirtualClock
from engines.documents import Cancel, Case, Fixture, load_fixture
from engines.graph import Execution, GraphEngine
from engines.graph.driver import run_case
from engines.graph.store import MemorySnapshotStore, SnapshotStore, SQLiteSnapshotStore
from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunResult, RunStatus
from engines.tools import builtin_registry

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"

Delay = Callable[[str, tuple[tuple[str, int], ...]], float] | None
#: Moves a paused execution somewhere and back: returns the execution to resume.
Transport = Callable[[Execution, WorkflowRegistry], Execution]


@cache
def _fixture(name: str) -> Fixture:
    return load_fixture(FIXTURES / name, tools=builtin_registry())


def _has_input(registry: WorkflowRegistry) -> bool:
    main = registry.main
    return any(main.workflow.node(n).type == "input" for n in main.topology.iter_nodes())


INPUT_FIXTURES = [
    path.name
    for path in sorted(FIXTURES.glob("*.yaml"))
    if _has_input(_fixture(path.name).registry)
]
CONVERSATION_CASES = [
    (name, case.name)
    for name in INPUT_FIXTURES
    for case in _fixture(name).cases
    if case.conversation
]
CASE_IDS = [f"{name[:-5]}:{case}" for name, case in CONVERSATION_CASES]

# Workflows of our own with run-level state that must survive a snapshot: idempotency records
# and compensations recorded in the first turn, retries, clock time, a routed failure.
SAGA = workflow(
    [
        start(),
        node(
            "charge",
            "tool",
            tool="echo",
            args={"amount": "{{ inputs.amount }}"},
            options={
                "idempotency_key": "order-{{ inputs.order }}",
                "compensate": {"tool": "echo", "args": {"refund": "{{ nodes.charge.output }}"}},
            },
        ),
        node("nap", "wait", seconds=2),
        node("ask", "input", prompt="Split {{ inputs.amount }} how?", schema={"type": "integer"}),
        node(
            "charge_again",
            "tool",
            tool="echo",
            args={"amount": "{{ nodes.ask.output }}"},
            options={"idempotency_key": "order-{{ inputs.order }}"},
        ),
        node(
            "shaky",
            "tool",
            tool="flaky",
            args={"failures": 2},
            options={"retry": {"max_attempts": 3, "initial_interval": 0.5}},
        ),
        tool("share", "divide", a="{{ inputs.amount }}", b="{{ nodes.ask.output }}"),
        end("done", share="{{ nodes.share.output }}", again="{{ nodes.charge_again.output }}"),
    ],
    [
        "start -> charge",
        "charge -> nap",
        "nap -> ask",
        "ask -> charge_again",
        "ask -> shaky",
        "charge_again -> share",
        "shaky -> share",
        "share -> done",
    ],
    workflow_id="saga_with_input",
)
SAGA_CASES = {"completes": [4], "divides-by-zero": [0], "invalid-then-nothing": ["four"]}

BRANCHES = workflow(
    [
        start(),
        node("fan", "parallel", mode="count", count=3, max_concurrency=2),
        start("fs", parent="fan"),
        node("pause_a_bit", "wait", parent="fan", seconds="{{ parallel.index }}"),
        node("ask", "input", parent="fan", prompt="Branch {{ parallel.index }}?"),
        node("tag", "transform", parent="fan", value="{{ [parallel.index, nodes.ask.output] }}"),
        node("rounds", "loop", mode="for", count=2),
        start("rs", parent="rounds"),
        node("q", "input", parent="rounds", prompt="Round {{ loop.iteration }}"),
        node("keep", "set", parent="rounds", values={"last": "{{ nodes.q.output }}"}),
        end("done", fan="{{ nodes.fan.output }}", rounds="{{ nodes.rounds.output }}"),
    ],
    [
        "start -> fan",
        "fs -> pause_a_bit",
        "pause_a_bit -> ask",
        "ask -> tag",
        "fan -> rounds",
        "rs -> q",
        "q -> keep",
        "rounds -> done",
    ],
    workflow_id="branches_and_rounds",
    variables={"last": None},
)
BRANCHES_CONVERSATION = ["a", {"b": [1]}, 3, "r1", "r2"]


@cache
def _own(name: str) -> WorkflowRegistry:
    doc = {"saga": SAGA, "branches": BRANCHES}[name]
    return WorkflowRegistry([validate_workflow(doc)], tools=builtin_registry())


OWN_CASES = [("saga", payloads) for payloads in SAGA_CASES.values()]
OWN_CASES.append(("branches", BRANCHES_CONVERSATION))
OWN_IDS = [*SAGA_CASES, "branches"]

# --------------------------------------------------------------------------- helpers


def _engine(delay: Delay = None) -> GraphEngine:
    return GraphEngine(tools=builtin_registry(), clock=VirtualClock(), delay=delay)


def _case(fixture: str, name: str) -> Case:
    return _fixture(fixture).case(name)


def _facts(result: RunResult) -> dict[str, Any]:
    """What a resumed run must share with an uninterrupted one (docs/semantics.md §9)."""
    data = result.model_dump(mode="json")
    return {
        "status": data["status"],
        "outputs": data["outputs"],
        "vars": data["vars"],
        "node_outputs": data["node_outputs"],
        "node_errors": data["node_errors"],
        "errors": data["errors"],
        "pause": data["pause"],
        "steps": [e.step() for e in result.trace],
    }


def _converse(
    registry: WorkflowRegistry,
    inputs: dict[str, Any],
    conversation: list[Any] | tuple[Any, ...],
    transport: Transport | None,
    delay: Delay = None,
    cancel: Cancel | None = None,
) -> RunResult:
    """Answer each pause in turn; before each answer, `transport` moves the execution (and
    before a `cancel: {when: paused}` too)."""
    engine = _engine(delay)
    execution = engine.start(registry, inputs)
    result = engine.clock.run(execution.run)
    for payload in conversation:
        if result.status is not RunStatus.PAUSED:
            break
        if transport is not None:
            execution = transport(execution, registry)
        result = execution.engine.clock.run(lambda e=execution, p=payload: e.resume(p))
    if cancel is not None and cancel.when == "paused" and result.status is RunStatus.PAUSED:
        if transport is not None:
            execution = transport(execution, registry)
        result = execution.engine.clock.run(execution.cancel_paused)
    return result


def _json_transport(delay: Delay = None) -> Transport:
    def move(execution: Execution, registry: WorkflowRegistry) -> Execution:
        text = json.dumps(execution.snapshot(), allow_nan=False)
        return _engine(delay).restore(registry, json.loads(text))

    return move


def _store_transport(store: SnapshotStore, delay: Delay = None) -> Transport:
    def move(execution: Execution, registry: WorkflowRegistry) -> Execution:
        store.save(execution.id, execution.snapshot())
        restored = _engine(delay).restore(registry, store.load(execution.id))
        assert restored.id == execution.id
        return restored

    return move


def _one_second(node_id: str, path: tuple[tuple[str, int], ...]) -> float:
    return 1.0


DELAYS: list[Delay] = [None, _one_second]

# --------------------------------------------------------------------------- round trips


def test_every_input_fixture_is_covered() -> None:
    assert {
        "conversation_sequence.yaml",
        "conversation_input_in_loop.yaml",
        "conversation_input_in_parallel.yaml",
        "conversation_independent_inputs.yaml",
    } <= set(INPUT_FIXTURES)
    assert len(CONVERSATION_CASES) >= 15


@pytest.mark.parametrize(("fixture", "name"), CONVERSATION_CASES, ids=CASE_IDS)
def test_driver_json_round_trip_equals_in_memory_resume(fixture: str, name: str) -> None:
    registry, case = _fixture(fixture).registry, _case(fixture, name)
    in_memory = run_case(_engine(), registry, case, roundtrip=False)
    round_trip = run_case(_engine(), registry, case, roundtrip=True)
    assert _facts(round_trip) == _facts(in_memory)
    assert case.expect is not None and in_memory.status is case.expect.status


@pytest.mark.parametrize("delay", DELAYS, ids=["no-delay", "delay-1s"])
@pytest.mark.parametrize(("fixture", "name"), CONVERSATION_CASES, ids=CASE_IDS)
def test_json_round_trip_into_a_fresh_engine_equals_in_memory(
    fixture: str, name: str, delay: Delay
) -> None:
    registry, case = _fixture(fixture).registry, _case(fixture, name)
    expected = _converse(registry, case.inputs, case.conversation, None, delay)
    actual = _converse(registry, case.inputs, case.conversation, _json_transport(delay), delay)
    assert _facts(actual) == _facts(expected)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SnapshotStore]:
    if request.param == "memory":
        yield MemorySnapshotStore()
        return
    with SQLiteSnapshotStore(tmp_path / "snapshots.db") as sqlite_store:
        yield sqlite_store


@pytest.mark.parametrize(("fixture", "name"), CONVERSATION_CASES, ids=CASE_IDS)
def test_store_round_trip_equals_in_memory(store: SnapshotStore, fixture: str, name: str) -> None:
    registry, case = _fixture(fixture).registry, _case(fixture, name)
    expected = _converse(registry, case.inputs, case.conversation, None, cancel=case.cancel)
    actual = _converse(
        registry, case.inputs, case.conversation, _store_transport(store), cancel=case.cancel
    )
    assert _facts(actual) == _facts(expected)
    assert _facts(actual) == _facts(run_case(_engine(), registry, case, roundtrip=True))


@pytest.mark.parametrize("delay", DELAYS, ids=["no-delay", "delay-1s"])
@pytest.mark.parametrize(("name", "conversation"), OWN_CASES, ids=OWN_IDS)
def test_run_level_state_survives_every_transport(
    name: str, conversation: list[Any], delay: Delay, tmp_path: Path
) -> None:
    """Idempotency records, compensations, retries and clock time of earlier turns."""
    registry = _own(name)
    inputs = {"amount": 12, "order": 7}
    expected = _converse(registry, inputs, conversation, None, delay)
    memory = MemorySnapshotStore()
    with SQLiteSnapshotStore(tmp_path / "own.db") as sqlite_store:
        for transport in (
            _json_transport(delay),
            _store_transport(memory, delay),
            _store_transport(sqlite_store, delay),
        ):
            actual = _converse(registry, inputs, conversation, transport, delay)
            assert _facts(actual) == _facts(expected)
            assert actual.metrics.duration == expected.metrics.duration
            assert actual.metrics.node_executions == expected.metrics.node_executions


def test_saga_facts_across_turns() -> None:
    """The first turn's idempotency record and compensation are used in the second turn."""
    registry, inputs = _own("saga"), {"amount": 12, "order": 7}
    done = _converse(registry, inputs, [4], _json_transport())
    assert done.status is RunStatus.COMPLETED
    assert done.outputs == {"share": 3.0, "again": {"amount": 12}}
    kinds = {(e.node, e.kind.value) for e in done.trace}
    assert ("charge_again", "deduplicated") in kinds
    assert [e.attempt for e in done.trace if e.node == "shaky" and e.kind == "retrying"] == [1, 2]
    failed = _converse(registry, inputs, [0], _json_transport())
    assert failed.status is RunStatus.FAILED
    assert [(e.node, e.code) for e in failed.errors] == [("share", "DIVISION_BY_ZERO")]
    assert [e.node for e in failed.trace if e.kind == "compensated"] == ["charge"]


@pytest.mark.parametrize(("name", "conversation"), OWN_CASES, ids=OWN_IDS)
def test_snapshots_are_transparent_to_the_whole_trace(name: str, conversation: list[Any]) -> None:
    """Same engine type, same clock: even `seq`, `time` and `detail` are those of the
    uninterrupted run."""
    registry, inputs = _own(name), {"amount": 12, "order": 7}
    expected = _converse(registry, inputs, conversation, None, _one_second)
    actual = _converse(registry, inputs, conversation, _json_transport(_one_second), _one_second)
    assert actual.trace == expected.trace
    assert actual.model_dump(exclude={"metrics"}) == expected.model_dump(exclude={"metrics"})


def test_one_snapshot_restores_any_number_of_times() -> None:
    """Restoring shares nothing with the snapshot: resuming one restored execution changes
    neither the snapshot nor another execution restored from it."""
    registry = _fixture("conversation_input_in_loop.yaml").registry
    engine = _engine()
    execution = engine.start(registry, {"n": 2})
    engine.clock.run(execution.run)
    snapshot = json.loads(json.dumps(execution.snapshot()))
    frozen = json.dumps(snapshot, sort_keys=True)
    first = engine.restore(registry, snapshot)
    engine.clock.run(lambda: first.resume(5))
    one = engine.clock.run(lambda: first.resume(6))
    assert json.dumps(snapshot, sort_keys=True) == frozen
    second = engine.restore(registry, snapshot)
    engine.clock.run(lambda: second.resume(1))
    two = engine.clock.run(lambda: second.resume(1))
    assert (one.status, one.vars, one.outputs["total"]) == (RunStatus.COMPLETED, {"total": 11}, 11)
    assert (two.status, two.vars, two.outputs["total"]) == (RunStatus.COMPLETED, {"total": 2}, 2)
    assert json.dumps(snapshot, sort_keys=True) == frozen
    # The execution the snapshot was taken from is still paused at the first question.
    assert execution.status == RunStatus.PAUSED
    last = engine.clock.run(lambda: execution.resume(3))
    assert last.pause is not None and last.pause.prompt == "Amount 2 of 2"


# --------------------------------------------------------------------------- another process

CHILD = """
import json, sys
from engines.clock import VirtualClock
from engines.documents import load_fixture
from engines.graph import GraphEngine
from engines.graph.store import SQLiteSnapshotStore
from engines.result import RunStatus
from engines.tools import builtin_registry

fixture_path, store_path, execution_id, payloads = sys.argv[1:5]
fixture = load_fixture(fixture_path, tools=builtin_registry())
engine = GraphEngine(tools=builtin_registry(), clock=VirtualClock())
with SQLiteSnapshotStore(store_path) as store:
    execution = engine.restore(fixture.registry, store.load(execution_id))
    for payload in json.loads(payloads):
        result = engine.clock.run(lambda: execution.resume(payload))
        if result.status is not RunStatus.PAUSED:
            break
    if result.status is RunStatus.PAUSED:
        store.save(execution_id, execution.snapshot())
    else:
        store.delete(execution_id)
print(result.model_dump_json())
"""


def _in_child(tmp_path: Path, fixture: Path, db: Path, execution_id: str, payloads: list) -> Any:
    script = write(tmp_path / "resume_child.py", CHILD)
    args = [sys.executable, str(script), str(fixture), str(db), execution_id, json.dumps(payloads)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return RunResult.model_validate_json(done.stdout.strip().splitlines()[-1])


NEW_PROCESS = [
    # fixture, case, payloads answered by each child process in turn
    ("conversation_input_in_loop.yaml", "three-iterations", [[10], [2.5, 7]]),
    ("conversation_input_in_parallel.yaml", "branch-zero-first", [[4, 5]]),
    ("conversation_sequence.yaml", "two-answers", [["Ada"], ["blue"]]),
    ("conversation_input_in_loop.yaml", "invalid-payload-fails-loop", [[1, "two"]]),
]


@pytest.mark.parametrize(
    ("fixture", "name", "hops"), NEW_PROCESS, ids=[f"{f[:-5]}:{c}" for f, c, _ in NEW_PROCESS]
)
def test_resume_in_a_new_process(
    tmp_path: Path, fixture: str, name: str, hops: list[list[Any]]
) -> None:
    registry, case = _fixture(fixture).registry, _case(fixture, name)
    assert [p for hop in hops for p in hop] == list(case.conversation)
    uninterrupted = _converse(registry, case.inputs, case.conversation, None)
    engine = _engine()
    execution = engine.start(registry, case.inputs)
    first = engine.clock.run(execution.run)
    assert first.status is RunStatus.PAUSED
    db = tmp_path / "store.db"
    with SQLiteSnapshotStore(db) as parent_store:
        parent_store.save(execution.id, execution.snapshot())
    result: RunResult | None = None
    for index, payloads in enumerate(hops):
        result = _in_child(tmp_path, FIXTURES / fixture, db, execution.id, payloads)
        with SQLiteSnapshotStore(db) as parent_store:
            still_paused = index < len(hops) - 1
            assert (execution.id in parent_store) is still_paused
            if still_paused:
                assert parent_store.load(execution.id)["pending"][0]["prompt"] == (
                    result.pause.prompt if result.pause else None
                )
    assert result is not None
    assert _facts(result) == _facts(uninterrupted)
    assert case.expect is not None and result.status is case.expect.status
    assert result.outputs == case.expect.outputs


def test_own_fixture_file_resumes_in_a_new_process(tmp_path: Path) -> None:
    """Compensation and idempotency records written in one process are used in another."""
    path = write(tmp_path / "saga.yaml", {"workflow": SAGA, "cases": [{"name": "c", "inputs": {}}]})
    registry = load_fixture(path, tools=builtin_registry()).registry
    inputs = {"amount": 12, "order": 7}
    uninterrupted = _converse(registry, inputs, [0], None)
    engine = _engine()
    execution = engine.start(registry, inputs)
    engine.clock.run(execution.run)
    db = tmp_path / "store.db"
    with SQLiteSnapshotStore(db) as parent_store:
        parent_store.save(execution.id, execution.snapshot())
    result = _in_child(tmp_path, path, db, execution.id, [0])
    assert _facts(result) == _facts(uninterrupted)
    assert result.metrics.duration == uninterrupted.metrics.duration
    assert [e.node for e in result.trace if e.kind == "compensated"] == ["charge"]
