"""Journey engine sessions refuse what they cannot do — a reply with no question, a second
start, saving a session that is not paused, loading a saved session of another workflow or a
malformed one, inputs that are not JSON data — with an `engines.errors` exception, and change
nothing: after every refusal a correct call still works and ends as if nothing happened.
(A companion of tests/test_journey_sessions.py, kept apart for size.)"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import assert_words, end, node, start, transform, workflow
from journey_support import converse, facts, fixture, fresh_engine, journey_engine, transcript

from engines.errors import EngineStateError, SetupError, SnapshotInvalid
from engines.journey import JourneyEngine, JourneyResult, Session
from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunStatus
from engines.tools import ToolContext, builtin_registry
from engines.trace import expand

SEQUENCE = "conversation_sequence.yaml"
LOOP = "conversation_input_in_loop.yaml"


def _started(name: str, inputs: dict[str, Any]) -> tuple[JourneyEngine, Session, JourneyResult]:
    engine = journey_engine()
    session = engine.start_session(fixture(name).registry, inputs)
    return engine, session, engine.clock.run(session.start)


def _mark(session: Session) -> str:
    """Everything a session holds that a refused call must leave alone."""
    return json.dumps(
        [
            session.status,
            [e.model_dump(mode="json") for e in expand(session.events)],
            [repr(m) for m in session.transcript],
            [repr(p) for p in session.path],
            session.vars,
            session.journey_vars,
            sorted(q.node for q in session.questions),
        ],
        sort_keys=True,
        default=repr,
    )


# --------------------------------------------------------------------------- the session API


def test_reply_before_start_is_refused_and_start_still_works() -> None:
    engine = journey_engine()
    session = engine.start_session(fixture(SEQUENCE).registry, {})
    before = _mark(session)
    with pytest.raises(EngineStateError) as info:
        engine.clock.run(lambda: session.reply("Ada"))
    assert_words(str(info.value), session.id, "new", "no question")
    with pytest.raises(EngineStateError):
        session.pending_question()
    with pytest.raises(EngineStateError) as saving:
        session.to_json()
    assert_words(str(saving.value), "only a paused session")
    assert _mark(session) == before
    first = engine.clock.run(session.start)
    assert first.pause is not None and first.pause.node == "ask_name"
    engine.clock.run(lambda: session.reply("Ada"))
    last = engine.clock.run(lambda: session.reply("red"))
    assert last.outputs == {"profile": "Ada/red", "turns": 2}


def test_start_twice_is_refused_and_the_conversation_goes_on() -> None:
    expected, _ = converse(fixture(SEQUENCE).registry, {}, ["Ada", "blue"])
    engine, session, _ = _started(SEQUENCE, {})
    before = (session.to_json(), _mark(session))
    with pytest.raises(EngineStateError) as info:
        engine.clock.run(session.start)
    assert_words(str(info.value), "already started", "paused")
    assert (session.to_json(), _mark(session)) == before
    engine.clock.run(lambda: session.reply("Ada"))
    last = engine.clock.run(lambda: session.reply("blue"))
    assert facts(last) == facts(expected)
    assert transcript(last) == transcript(expected)
    with pytest.raises(EngineStateError):
        engine.clock.run(session.start)


@pytest.mark.parametrize(
    ("conversation", "status"),
    [(["Ada", "blue"], RunStatus.COMPLETED), (["Ada", "purple"], RunStatus.FAILED)],
    ids=["completed", "failed"],
)
def test_a_finished_session_refuses_replies_and_saving(
    conversation: list[Any], status: RunStatus
) -> None:
    engine, session, _ = _started(SEQUENCE, {})
    for payload in conversation:
        result = engine.clock.run(lambda p=payload: session.reply(p))
    assert result.status is status
    before = _mark(session)
    with pytest.raises(EngineStateError) as info:
        engine.clock.run(lambda: session.reply("again"))
    assert_words(str(info.value), str(status), "no question")
    with pytest.raises(EngineStateError):
        session.pending_question()
    with pytest.raises(EngineStateError) as saving:
        session.to_json()
    assert_words(str(saving.value), str(status), "only a paused session")
    assert _mark(session) == before


def test_saving_or_replying_while_a_turn_runs_is_refused() -> None:
    """A tool that tries both, from inside the turn: each is refused, the turn goes on."""
    tools = builtin_registry()
    holder: dict[str, Session] = {}
    refused: list[str] = []

    async def meddle(args: Any, ctx: ToolContext) -> Any:
        session = holder["session"]
        try:
            session.to_json()
        except EngineStateError:
            refused.append("to_json")
        try:
            await session.reply("sneaky")
        except EngineStateError:
            refused.append("reply")
        return args["value"]

    tools.register("meddle", meddle)
    doc = workflow(
        [
            start(),
            node("m1", "tool", tool="meddle", args={"value": 1}),
            node("ask", "input", prompt="Go?"),
            node("m2", "tool", tool="meddle", args={"value": "{{ nodes.ask.output }}"}),
            end("e", got="{{ nodes.m2.output }}"),
        ],
        ["start -> m1", "m1 -> ask", "ask -> m2", "m2 -> e"],
    )
    engine = journey_engine(tools)
    session = holder["session"] = engine.start_session(doc, {})
    first = engine.clock.run(session.start)
    assert first.pause is not None and first.pause.node == "ask"
    last = engine.clock.run(lambda: session.reply("yes"))
    assert refused == ["to_json", "reply"] * 2
    assert (last.status, last.outputs) == (RunStatus.COMPLETED, {"got": "yes"})
    assert [m.role for m in last.transcript] == ["agent", "customer", "agent"]


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ([1, 2], ["mapping", "list"]),
        ("text", ["mapping", "str"]),
        ({"x": object()}, ["not JSON", "object"]),
        ({"x": float("nan")}, ["not JSON", "nan"]),
        ({1: "a"}, ["not JSON", "key"]),
    ],
    ids=["list", "text", "object", "nan", "int-key"],
)
def test_inputs_that_are_not_a_json_mapping_are_refused(inputs: Any, words: list[str]) -> None:
    engine = journey_engine()
    registry = fixture(SEQUENCE).registry
    with pytest.raises(SetupError) as info:
        engine.start_session(registry, inputs)
    assert_words(str(info.value), "inputs", *words)
    with pytest.raises(SetupError):
        engine.run(registry, inputs)
    result = engine.run(registry, {"unused": [1]})
    assert result.pause is not None and result.pause.node == "ask_name"


# --------------------------------------------------------------------------- loading

CHILD_WF = workflow(
    [start(), transform("double", "{{ inputs.x * 2 }}"), end("e", y="{{ nodes.double.output }}")],
    ["start -> double", "double -> e"],
    workflow_id="child",
)
PARENT_WF = workflow(
    [
        start(),
        node("ask", "input", prompt="x?", schema={"type": "integer"}),
        node("sub", "subworkflow", workflow="child", inputs={"x": "{{ nodes.ask.output }}"}),
        end("e", y="{{ nodes.sub.output.y }}"),
    ],
    ["start -> ask", "ask -> sub", "sub -> e"],
    workflow_id="parent",
)


def _registry(*docs: dict[str, Any]) -> WorkflowRegistry:
    return WorkflowRegistry([validate_workflow(d) for d in docs], tools=builtin_registry())


def test_a_sub_journey_runs_after_a_loaded_session() -> None:
    registry = _registry(PARENT_WF, CHILD_WF)
    expected, _ = converse(registry, {}, [21])
    actual, _ = converse(registry, {}, [21], fresh_engine)
    assert expected.outputs == {"y": 42}
    assert facts(actual) == facts(expected)
    assert ("double", (("sub", 0),), 1, "completed") in facts(actual)["steps"]


def _changed(doc: dict[str, Any], node_id: str, **params: Any) -> dict[str, Any]:
    """The document with one node's params changed (another version of the workflow)."""
    other = copy.deepcopy(doc)
    for item in other["nodes"]:
        if item["id"] == node_id:
            item["params"].update(params)
    return other


LOOP_DOC = fixture(LOOP).registry.main.workflow.to_document()
OTHER_WORKFLOWS: dict[str, tuple[str, Callable[[], Any], list[str]]] = {
    # saved from, loaded with, words of the refusal
    "another-workflow": (LOOP, lambda: fixture(SEQUENCE).registry, ["conversation_sequence"]),
    "another-version": (
        LOOP,
        lambda: validate_workflow(_changed(LOOP_DOC, "ask", prompt="How much?")),
        ["another version", "hash"],
    ),
    "other-sub-workflows": (
        "parent",
        lambda: _registry(PARENT_WF, _changed(CHILD_WF, "double", value="{{ inputs.x * 3 }}")),
        ["sub-workflows"],
    ),
    "extra-workflow": (
        "parent",
        lambda: _registry(PARENT_WF, CHILD_WF, {**CHILD_WF, "id": "spare"}),
        ["sub-workflows"],
    ),
}


def _source(name: str) -> tuple[Any, dict[str, Any], list[Any]]:
    """(workflow, inputs, conversation after the first question) of a saved session."""
    if name == "parent":
        return _registry(PARENT_WF, CHILD_WF), {}, [4]
    return fixture(name).registry, {"n": 2}, [1, 2]


@pytest.mark.parametrize("kind", list(OTHER_WORKFLOWS))
def test_loading_for_another_workflow_is_refused(kind: str) -> None:
    name, other, words = OTHER_WORKFLOWS[kind]
    wf, inputs, conversation = _source(name)
    expected, _ = converse(wf, inputs, conversation)
    engine = journey_engine()
    session = engine.start_session(wf, inputs)
    engine.clock.run(session.start)
    data = json.loads(json.dumps(session.to_json()))
    with pytest.raises(SnapshotInvalid) as info:
        engine.load_session(other(), data)
    assert_words(str(info.value), "saved session", *words)
    loaded = engine.load_session(wf, data)
    for payload in conversation:
        result = engine.clock.run(lambda p=payload: loaded.reply(p))
    assert facts(result) == facts(expected)


Mutation = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Mutation:
    """Set `a.b.0.c` (list indexes as numbers) to `value`; return the document."""

    def mutate(data: dict[str, Any]) -> Any:
        *parents, last = path.split(".")
        target: Any = data
        for step in parents:
            target = target[int(step)] if isinstance(target, list) else target[step]
        target[int(last) if isinstance(target, list) else last] = value
        return data

    return mutate


def _drop(key: str) -> Mutation:
    return lambda data: {k: v for k, v in data.items() if k != key}


COUNTER = "walk.counters.0"
BROKEN: dict[str, tuple[Mutation, list[str]]] = {
    "not-a-mapping": (lambda data: [data], ["mapping", "list"]),
    "wrong-format": (_set("format", "compat.graph.snapshot"), ["format"]),
    "no-format": (_drop("format"), ["format"]),
    "version-2": (_set("version", 2), ["version", "2"]),
    "version-true": (_set("version", True), ["version", "True"]),
    "version-text": (_set("version", "1"), ["version", "'1'"]),
    "version-float": (_set("version", 1.0), ["version"]),
    "no-version": (_drop("version"), ["version", "None"]),
    "workflow-not-mapping": (_set("workflow", "conversation_input_in_loop"), ["workflow"]),
    "not-paused": (_set("status", "completed"), ["completed", "paused"]),
    "missing-key": (_drop("events"), ["malformed", "events"]),
    "vars-a-list": (_set("vars", []), ["malformed", "vars"]),
    "elapsed-text": (_set("elapsed", "0"), ["malformed", "elapsed"]),
    "depth-negative": (_set("depth", -1), ["malformed", "depth"]),
    "unknown-field": (_set("extra", 1), ["malformed", "extra"]),
    "no-questions": (_set("questions", []), ["malformed", "questions"]),
    "event-kind": (_set("events.0.kind", "exploded"), ["malformed"]),
    "path-step-shape": (_set("path.3.path", [["collect"]]), ["malformed"]),
    "path-index-text": (_set("path.3.path", [["collect", "§"]]), ["malformed", "whole number"]),
    "path-container-number": (_set("path.3.path", [[1, 0]]), ["malformed"]),
    "count-text": (_set(f"{COUNTER}.count", "2"), ["malformed"]),
    "unarrived-negative": (_set("walk.unarrived.done", -1), ["malformed"]),
    "settled-status": (_set("walk.settled.start.status", "done"), ["malformed"]),
    "ghost-event": (_set("events.0.node", "ghost"), ["ghost"]),
    "ghost-settled": (
        _set("walk.settled.ghost", {"output": 1, "error": None, "status": "completed"}),
        ["ghost"],
    ),
    "ghost-unarrived": (_set("walk.unarrived.ghost", 0), ["ghost"]),
    "ghost-state": (_set("path.0.state", "ghost"), ["ghost"]),
    "ghost-counter": (_set(f"{COUNTER}.node", "ghost"), ["ghost"]),
    "counter-of-body-node": (_set(f"{COUNTER}.node", "ask"), ["ask", "container"]),
    "child-walk-elsewhere": (_set(f"{COUNTER}.child.path", [["collect", 5]]), ["walk"]),
    "deferred-out-of-range": (_set("walk.deferred", [99]), ["walk", "fit"]),
    "question-not-an-input": (_set("questions.0.node", "add_up"), ["question", "input"]),
    "question-not-waiting": (_set(f"{COUNTER}.child.waiting", []), ["question", "waiting"]),
    "question-other-walk": (_set("questions.0.path", []), ["question", "waiting"]),
    "question-no-walk": (_set("questions.0.path", [["collect", 7]]), ["question"]),
    "question-position": (_set("questions.0.position", 2), ["question"]),
    "ghost-question": (_set("questions.0.node", "ghost"), ["question", "ghost"]),
    # Saved sessions the engine never writes, that contradict the workflow or themselves:
    # a `for` loop's counter saved as a `while` loop (a reply would crash in the loop test),
    # an input both answered (settled) and waiting, and one question asked twice.
    "counter-mode-of-another-loop": (_set(f"{COUNTER}.mode", "while"), ["collect"]),
    "question-already-answered": (
        _set(f"{COUNTER}.child.settled.ask", {"output": 1, "error": None, "status": "completed"}),
        ["ask"],
    ),
    "question-twice": (lambda data: _set("questions", data["questions"] * 2)(data), ["ask"]),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_malformed_saved_session_is_refused_and_changes_nothing(kind: str) -> None:
    mutate, words = BROKEN[kind]
    registry = fixture(LOOP).registry
    expected, _ = converse(registry, {"n": 3}, [10, 2.5, 7])
    engine, session, _ = _started(LOOP, {"n": 3})
    engine.clock.run(lambda: session.reply(10))  # paused in iteration 1: a loop counter
    data = json.loads(json.dumps(session.to_json()))
    frozen = json.dumps(data, sort_keys=True)
    with pytest.raises(SnapshotInvalid) as info:
        engine.load_session(registry, mutate(copy.deepcopy(data)))
    assert_words(str(info.value), *words)
    assert json.dumps(data, sort_keys=True) == frozen
    for target in (engine, journey_engine()):
        loaded = target.load_session(registry, data)
        target.clock.run(lambda s=loaded: s.reply(2.5))
        result = target.clock.run(lambda s=loaded: s.reply(7))
        assert facts(result) == facts(expected)
        assert transcript(result) == transcript(expected)
