"""Graph engine snapshots and snapshot stores: what a snapshot holds (runtime state only,
versioned, JSON), which snapshots `restore` refuses (with `SnapshotInvalid`, changing
nothing), and one store contract for both backends (docs/graph-engine.md "Pause, resume,
snapshots and stores")."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_words, end, node, start, transform, workflow

from engines.clock import VirtualClock
from engines.documents import Fixture, load_fixture
from engines.errors import EngineStateError, SnapshotInvalid
from engines.graph import Execution, GraphEngine
from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunResult, RunStatus
from engines.tools import builtin_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
INPUT_FIXTURES = [
    "conversation_sequence.yaml",
    "conversation_independent_inputs.yaml",
    "conversation_input_in_loop.yaml",
    "conversation_input_in_parallel.yaml",
    "input_schema_routed.yaml",
    "input_unrouted.yaml",
]
LOOP = "conversation_input_in_loop.yaml"


@cache
def _fixture(name: str) -> Fixture:
    return load_fixture(FIXTURES / name, tools=builtin_registry())


def _engine() -> GraphEngine:
    return GraphEngine(tools=builtin_registry(), clock=VirtualClock())


def _facts(result: RunResult) -> dict[str, Any]:
    data = result.model_dump(mode="json", exclude={"metrics", "trace"})
    data["steps"] = [e.step() for e in result.trace]
    return data


def _paused(registry: WorkflowRegistry, inputs: dict[str, Any]) -> tuple[Execution, dict]:
    engine = _engine()
    execution = engine.start(registry, inputs)
    result = engine.clock.run(execution.run)
    assert result.status is RunStatus.PAUSED
    return execution, json.loads(json.dumps(execution.snapshot()))


def _pauses(registry: WorkflowRegistry, inputs: dict, conversation: Any) -> Iterator[dict]:
    """The snapshot taken at every pause of a conversation."""
    engine = _engine()
    execution = engine.start(registry, inputs)
    result = engine.clock.run(execution.run)
    for payload in [*conversation, None]:
        if result.status is not RunStatus.PAUSED:
            return
        yield execution.snapshot()
        if payload is None:
            return
        result = engine.clock.run(lambda p=payload: execution.resume(p))


def _walk(value: Any, where: str = "$") -> Iterator[tuple[str, Any]]:
    yield where, value
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), f"{where}: non-string key {key!r}"
            yield from _walk(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}[{index}]")


# --------------------------------------------------------------------------- contents

PLAIN = (dict, list, str, int, float, bool, type(None))
FORBIDDEN_KEYS = {"params", "edges", "nodes", "variables", "templates", "expression"}


@pytest.mark.parametrize("name", INPUT_FIXTURES, ids=lambda n: n[:-5])
def test_snapshots_are_plain_json_of_the_runtime_state_only(name: str) -> None:
    fixture = _fixture(name)
    main = fixture.workflow
    taken = 0
    for case in fixture.cases:
        for snapshot in _pauses(fixture.registry, case.inputs, case.conversation):
            taken += 1
            for where, value in _walk(snapshot):
                assert type(value) in PLAIN, f"{where} is a {type(value).__name__}"
                if isinstance(value, dict):
                    assert not FORBIDDEN_KEYS & set(value), f"{where} holds {set(value)}"
                if isinstance(value, str) and not where.endswith(".message"):
                    assert "{{" not in value and "{%" not in value, f"{where}: {value!r}"
            assert json.loads(json.dumps(snapshot, allow_nan=False)) == snapshot
            assert (snapshot["format"], snapshot["version"]) == ("compat.graph.snapshot", 1)
            assert type(snapshot["version"]) is int
            assert snapshot["status"] == "paused"
            assert snapshot["workflow"] == {"id": main.id, "hash": main.content_hash}
            assert snapshot["registry"] == {
                w: fixture.registry[w].content_hash for w in fixture.registry
            }
    assert taken >= 1


def test_no_param_of_any_node_reaches_a_snapshot() -> None:
    doc = workflow(
        [
            start(),
            node("ask", "input", prompt="Size?"),
            node("later", "tool", tool="echo", args={"note": "LITERAL-PARAM-7"}),
            transform("shape", "TEMPLATE-PARAM-{{ nodes.ask.output }}"),
            end("done", result="END-PARAM-{{ nodes.shape.output }}"),
        ],
        ["start -> ask", "ask -> later", "later -> shape", "shape -> done"],
        variables={"unused": "VARIABLE-PARAM"},
        outputs={"x": "OUTPUT-PARAM-{{ vars.unused }}"},
    )
    registry = WorkflowRegistry([validate_workflow(doc)], tools=builtin_registry())
    execution, snapshot = _paused(registry, {})
    text = json.dumps(snapshot)
    for marker in ("LITERAL-PARAM", "TEMPLATE-PARAM", "END-PARAM", "OUTPUT-PARAM", "Size?"):
        assert (marker in text) is (marker == "Size?"), marker  # only the rendered prompt
    assert "VARIABLE-PARAM" in json.dumps(snapshot["vars"])  # the rendered variable, once
    assert text.count("VARIABLE-PARAM") == 1
    assert execution.snapshot()["execution_id"] == execution.id


def test_only_a_paused_execution_has_a_snapshot() -> None:
    registry = _fixture("conversation_sequence.yaml").registry
    engine = _engine()
    execution = engine.start(registry, {})
    with pytest.raises(EngineStateError, match="only a paused execution"):
        execution.snapshot()
    engine.clock.run(execution.run)
    engine.clock.run(lambda: execution.resume("Ada"))
    assert engine.clock.run(lambda: execution.resume("red")).status is RunStatus.COMPLETED
    with pytest.raises(EngineStateError, match="only a paused execution"):
        execution.snapshot()


def test_the_same_workflow_written_differently_restores() -> None:
    fixture = _fixture(LOOP)
    _, snapshot = _paused(fixture.registry, {"n": 1})
    doc = json.loads(json.dumps(fixture.workflow.workflow.to_document()))
    doc["nodes"] = [dict(reversed(list(n.items()))) for n in doc["nodes"]]  # key order only
    again = WorkflowRegistry([validate_workflow(doc)], tools=builtin_registry())
    execution = _engine().restore(again, snapshot)
    result = execution.engine.clock.run(lambda: execution.resume(4))
    assert (result.status, result.outputs["total"]) == (RunStatus.COMPLETED, 4)


# --------------------------------------------------------------------------- refused snapshots


@dataclass
class Paused:
    registry: WorkflowRegistry
    snapshot: dict[str, Any]
    expected: dict[str, Any]  # facts of resuming the good snapshot with 10, then 20


@pytest.fixture(scope="module")
def paused() -> Paused:
    registry = _fixture(LOOP).registry
    _, snapshot = _paused(registry, {"n": 2})
    return Paused(registry, snapshot, _facts(_finish(_engine(), registry, snapshot)))


def _finish(engine: GraphEngine, registry: WorkflowRegistry, snapshot: dict) -> RunResult:
    execution = engine.restore(registry, snapshot)
    engine.clock.run(lambda: execution.resume(10))
    return engine.clock.run(lambda: execution.resume(20))


def _refused(
    paused: Paused, bad: Any, *words: str, registry: WorkflowRegistry | None = None
) -> SnapshotInvalid:
    """`restore` refuses `bad` with a message naming `words`, and nothing is half-applied:
    neither snapshot changed, and the same engine still restores the good one correctly."""
    before, good = copy.deepcopy(bad), copy.deepcopy(paused.snapshot)
    engine = _engine()
    with pytest.raises(SnapshotInvalid) as info:
        engine.restore(registry or paused.registry, bad)
    message = str(info.value)
    assert message.strip()
    assert_words(message, *words)
    assert bad == before
    assert paused.snapshot == good
    assert _facts(_finish(engine, paused.registry, paused.snapshot)) == paused.expected
    return info.value


def _edited(snapshot: dict, edit: Callable[[dict], Any]) -> dict:
    data = copy.deepcopy(snapshot)
    edit(data)
    return data


def test_snapshot_of_another_workflow_is_refused(paused: Paused) -> None:
    _, other = _paused(_fixture("conversation_sequence.yaml").registry, {})
    _refused(paused, other, "conversation_sequence", "conversation_input_in_loop")


def test_snapshot_of_another_version_of_the_workflow_is_refused(paused: Paused) -> None:
    doc = json.loads(json.dumps(_fixture(LOOP).workflow.workflow.to_document()))
    ask = next(n for n in doc["nodes"] if n["id"] == "ask")
    ask["params"]["prompt"] = "How much ({{ loop.iteration }})?"
    changed = validate_workflow(doc)
    assert changed.id == paused.snapshot["workflow"]["id"]
    assert changed.content_hash != paused.snapshot["workflow"]["hash"]
    registry = WorkflowRegistry([changed], tools=builtin_registry())
    _refused(paused, paused.snapshot, "another version", registry=registry)


def test_snapshot_taken_with_other_sub_workflows_is_refused(paused: Paused) -> None:
    def registry(child_value: str) -> WorkflowRegistry:
        main = workflow(
            [start(), node("ask", "input"), node("call", "subworkflow", workflow="child")],
            ["start -> ask", "ask -> call"],
            workflow_id="parent",
        )
        child = workflow(
            [start(), transform("t", child_value)], ["start -> t"], workflow_id="child"
        )
        return WorkflowRegistry([validate_workflow(main), validate_workflow(child)])

    _, snapshot = _paused(registry("one"), {})
    _refused(paused, snapshot, "sub-workflows", registry=registry("two"))
    execution = _engine().restore(registry("one"), snapshot)
    assert execution.engine.clock.run(lambda: execution.resume(1)).status is RunStatus.COMPLETED


@pytest.mark.parametrize("version", [2, 0, "1", None, True], ids=repr)
def test_other_snapshot_versions_are_refused(paused: Paused, version: Any) -> None:
    _refused(paused, _edited(paused.snapshot, lambda d: d.update(version=version)), "version")


@pytest.mark.parametrize("fmt", ["langgraph.checkpoint", "", None, 1], ids=repr)
def test_other_snapshot_formats_are_refused(paused: Paused, fmt: Any) -> None:
    _refused(paused, _edited(paused.snapshot, lambda d: d.update(format=fmt)), "format")


@pytest.mark.parametrize("bad", [[], "snapshot", None, 42, [["format", 1]]], ids=repr)
def test_what_is_not_a_mapping_is_refused(paused: Paused, bad: Any) -> None:
    _refused(paused, bad, "snapshot")


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled", "running", None])
def test_snapshots_that_are_not_paused_are_refused(paused: Paused, status: Any) -> None:
    _refused(paused, _edited(paused.snapshot, lambda d: d.update(status=status)), "paused")


TOP_KEYS = [
    "format",
    "version",
    "execution_id",
    "status",
    "workflow",
    "registry",
    "depth",
    "elapsed",
    "inputs",
    "vars",
    "events",
    "idempotency",
    "compensations",
    "extra_errors",
    "frame",
    "pending",
]
#: What the message says for a missing key whose name it does not repeat.
SAID = {"registry": "sub-workflows", "status": "paused"}


@pytest.mark.parametrize("key", TOP_KEYS)
def test_a_snapshot_missing_a_key_is_refused(paused: Paused, key: str) -> None:
    assert key in paused.snapshot
    _refused(paused, _edited(paused.snapshot, lambda d: d.pop(key)), SAID.get(key, key))


def _child(data: dict) -> dict:
    return data["frame"]["runs"][0]["child"]


NESTED: dict[str, tuple[Callable[[dict], Any], str]] = {
    "frame.view": (lambda d: d["frame"].pop("view"), "view"),
    "frame.remaining": (lambda d: d["frame"].pop("remaining"), "remaining"),
    "frame.runs": (lambda d: d["frame"].pop("runs"), "runs"),
    "run.child": (lambda d: d["frame"]["runs"][0].pop("child"), "child"),
    "run.results": (lambda d: d["frame"]["runs"][0].pop("results"), "results"),
    "child.fired": (lambda d: _child(d).pop("fired"), "fired"),
    "pending.prompt": (lambda d: d["pending"][0].pop("prompt"), "prompt"),
    "pending.path": (lambda d: d["pending"][0].pop("path"), "path"),
    "event.kind": (lambda d: d["events"][1].pop("kind"), "kind"),
    "no pending input": (lambda d: d.update(pending=[]), "pending"),
    "pending in no frame": (lambda d: d["pending"][0].update(path=[["collect", 7]]), "frame"),
    "unknown container kind": (lambda d: d["frame"]["runs"][0].update(kind="map"), "kind"),
}


@pytest.mark.parametrize("what", list(NESTED))
def test_a_snapshot_with_broken_structure_is_refused(paused: Paused, what: str) -> None:
    edit, word = NESTED[what]
    _refused(paused, _edited(paused.snapshot, edit), word)


WRONG_TYPES: dict[str, Callable[[dict], Any]] = {
    "workflow is text": lambda d: d.update(workflow="conversation_input_in_loop"),
    "workflow is a list": lambda d: d.update(workflow=["conversation_input_in_loop"]),
    "vars is a list of pairs": lambda d: d.update(vars=[["total", 5]]),
    "inputs is a list": lambda d: d.update(inputs=[]),
    "frame is a list": lambda d: d.update(frame=[]),
    "pending is a mapping": lambda d: d.update(pending={}),
    "events is text": lambda d: d.update(events="events"),
    "depth is text": lambda d: d.update(depth="deep"),
    "elapsed is null": lambda d: d.update(elapsed=None),
    "a path index is text": lambda d: d["pending"][0].update(path=[["collect", "§"]]),
    "a path container is a number": lambda d: d["pending"][0].update(path=[[1, 0]]),
}


@pytest.mark.parametrize("what", list(WRONG_TYPES))
def test_a_snapshot_with_values_of_the_wrong_type_is_refused(paused: Paused, what: str) -> None:
    _refused(paused, _edited(paused.snapshot, WRONG_TYPES[what]), "snapshot")


GHOST = {"node": "ghost", "code": "X", "message": "m"}
GHOSTS: dict[str, Callable[[dict], Any]] = {
    "frame.view": lambda d: d["frame"]["view"].update(
        ghost={"output": 1, "error": None, "status": "completed"}
    ),
    "frame.remaining": lambda d: d["frame"]["remaining"].update(ghost=0),
    "frame.fired": lambda d: d["frame"]["fired"].update(ghost=1),
    "child frame.view": lambda d: _child(d)["view"].update(
        ghost={"output": 1, "error": None, "status": "completed"}
    ),
    "container run": lambda d: d["frame"]["runs"][0].update(node="ghost"),
    "pending input": lambda d: d["pending"][0].update(node="ghost"),
    "frame.waiting": lambda d: _child(d)["waiting"].append("ghost"),
    "frame.routed": lambda d: d["frame"]["routed"].update(ghost=GHOST),
    "frame.errors": lambda d: d["frame"]["errors"].append(GHOST),
    "idempotency record": lambda d: d["idempotency"].append(
        {
            "tool": "echo",
            "key": "k",
            "records": [{"order_key": [5], "node": "ghost", "path": [], "output": 1}],
        }
    ),
    "compensation record": lambda d: d["compensations"].append(
        {
            "order_key": [5],
            "node": "ghost",
            "path": [],
            "attempt": 1,
            "tool": "echo",
            "args": {},
            "render_error": None,
        }
    ),
    "trace event": lambda d: d["events"].insert(
        -1,
        {"seq": 7, "kind": "started", "node": "ghost", "attempt": 1, "path": [], "time": 0.0},
    ),
}


@pytest.mark.parametrize("where", list(GHOSTS))
def test_a_snapshot_naming_a_node_the_workflow_lacks_is_refused(paused: Paused, where: str) -> None:
    _refused(paused, _edited(paused.snapshot, GHOSTS[where]), "node")


@pytest.mark.parametrize(
    ("node_id", "path"),
    [("add_up", [["collect", 0]]), ("done", [["collect", 0]]), ("done", []), ("ask", [])],
    ids=["body-set", "top-end-in-body-frame", "top-end", "input-outside-its-level"],
)
def test_a_pending_input_that_is_no_input_of_its_frame_is_refused(
    paused: Paused, node_id: str, path: list
) -> None:
    def edit(data: dict) -> None:
        data["pending"][0].update(node=node_id, path=path)

    _refused(paused, _edited(paused.snapshot, edit), node_id)
