"""Circuit breakers across a hand-off (compat.sync, docs/harness-sync.md; docs/semantics.md
§7.7): a breaker that has counted failures, or opened, before a pause is carried through
the common state, so a run handed from one engine to the other at that pause ends exactly
as the uninterrupted run; a bad breaker in any of the three formats is refused with the
place named."""

from __future__ import annotations

import copy
import itertools
import json
from collections import Counter
from typing import Any

import pytest

from compat.relay import Relay
from compat.sync import from_graph, from_journey, parse_state, to_graph, to_journey
from engines.clock import VirtualClock
from engines.errors import SnapshotInvalid
from engines.graph import GraphEngine
from engines.integrity import seal
from engines.journey import JourneyEngine
from engines.model import WorkflowRegistry, validate_workflow
from engines.result import RunResult, RunStatus
from engines.tools import builtin_registry

DOWN = {"code": "DOWN", "recoverable": True}
DIRECTIONS = [("graph", "journey"), ("journey", "graph")]


def _breaker(threshold: int, reset: float) -> dict[str, Any]:
    return {"circuit_breaker": {"failure_threshold": threshold, "reset_timeout": reset}}


def _tool(node_id: str, tool: str, args: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "tool", "params": {"tool": tool, "args": args}, **options}


def _ask(node_id: str = "ask", **options: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "input", "params": {"prompt": "go on?"}, **options}


def _chain(nodes: list[dict[str, Any]], tools: dict[str, Any]) -> WorkflowRegistry:
    """`nodes` one after another, every tool failure routed onwards."""
    ids = [n["id"] for n in nodes]
    edges = [{"source": "start", "target": ids[0]}]
    for first, second in itertools.pairwise(ids):
        edges.append({"source": first, "target": second})
        if nodes[ids.index(first)]["type"] == "tool":
            edges.append({"source": first, "target": second, "handle": "error"})
    doc = {
        "id": "chain",
        "tools": tools,
        "nodes": [{"id": "start", "type": "start"}, *nodes],
        "edges": edges,
    }
    return WorkflowRegistry([validate_workflow(doc)])


def _counted_not_open() -> WorkflowRegistry:
    """One failure counted before the pause, two after: the third opens it, so `t4` fails
    fast — only if the first failure crossed the pause."""
    return _chain(
        [
            _tool("t1", "flaky", {"failures": 1}),
            _ask(),
            _tool("t2", "flaky", {"failures": 1}),
            _tool("t3", "flaky", {"failures": 1}),
            _tool("t4", "flaky", {"failures": 0}),
        ],
        {"flaky": _breaker(3, 100)},
    )


def _open_then_probe() -> WorkflowRegistry:
    """Opened at breaker time 1 before the pause; after it `t3` is refused, waits 3 s of
    backoff and probes; `t4` then meets the breaker the probe left."""
    return _chain(
        [
            _tool("t1", "raise", DOWN, retry={"max_attempts": 2, "initial_interval": 1}),
            _ask(),
            _tool("t2", "echo", {}),
            _tool("t3", "raise", DOWN, retry={"max_attempts": 2, "initial_interval": 3}),
            _tool("t4", "raise", DOWN),
        ],
        {"raise": _breaker(2, 3)},
    )


def _paused_in_a_loop() -> WorkflowRegistry:
    """A pause in every iteration of a loop whose body calls the tool: the breaker counts
    across iterations and pauses, opens in the second and refuses the third."""
    doc = {
        "id": "looped",
        "tools": {"raise": _breaker(2, 50)},
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "each", "type": "loop", "params": {"mode": "for", "count": 3}},
            {"id": "body", "type": "start", "parent": "each"},
            _tool("call", "raise", DOWN, parent="each"),
            _ask(parent="each"),
            {
                "id": "seen",
                "type": "transform",
                "parent": "each",
                "params": {"value": "{{ [loop.index, nodes.call.error.code] }}"},
            },
        ],
        "edges": [
            {"source": "start", "target": "each"},
            {"source": "body", "target": "call"},
            {"source": "call", "target": "ask", "handle": "error"},
            {"source": "ask", "target": "seen"},
        ],
    }
    return WorkflowRegistry([validate_workflow(doc)])


SCENARIOS = {
    "counted-not-open": (_counted_not_open, ["yes"]),
    "open-then-probe": (_open_then_probe, ["yes"]),
    "paused-in-a-loop": (_paused_in_a_loop, [1, 2, 3]),
}


# --------------------------------------------------------------------------- helpers


def _json(data: Any) -> Any:
    return json.loads(json.dumps(data, allow_nan=False))


def _engine(kind: str) -> Any:
    engine = GraphEngine if kind == "graph" else JourneyEngine
    return engine(tools=builtin_registry(), clock=VirtualClock())


def _paused(kind: str, registry: WorkflowRegistry, answers: list[Any]) -> dict[str, Any]:
    """The saved run of `kind` after `answers`, paused."""
    engine = _engine(kind)
    if kind == "graph":
        run = engine.start(registry, {})
        result = engine.clock.run(run.run)
        for payload in answers:
            result = engine.clock.run(lambda p=payload: run.resume(p))
        saved = run.snapshot()
    else:
        run = engine.start_session(registry, {})
        result = engine.clock.run(run.start)
        for payload in answers:
            result = engine.clock.run(lambda p=payload: run.reply(p))
        saved = run.to_json()
    assert result.status is RunStatus.PAUSED
    return _json(saved)


def _uninterrupted(kind: str, registry: WorkflowRegistry, answers: list[Any]) -> RunResult:
    return Relay(kind, kind, builtin_registry()).run_case(registry, {}, answers)


def _facts(result: RunResult) -> dict[str, Any]:
    """What the contract says must be equal, the trace as a multiset of steps."""
    return {
        "status": result.status,
        "outputs": result.outputs,
        "vars": result.vars,
        "node_outputs": result.node_outputs,
        "errors": result.errors,
        "node_errors": result.node_errors,
        "steps": Counter(e.step() for e in result.trace),
    }


def _codes(result: RunResult) -> list[str]:
    return [
        f"{e.node}:{e.detail.get('code')}@{e.attempt}" for e in result.trace if e.kind == "failed"
    ]


# --------------------------------------------------------------------------- hand-offs


@pytest.mark.parametrize(("source", "target"), DIRECTIONS, ids=["graph->journey", "journey->graph"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_run_handed_over_with_its_breaker_ends_as_the_uninterrupted_run(
    name: str, source: str, target: str
) -> None:
    build, answers = SCENARIOS[name]
    registry = build()
    relayed = Relay(source, target, builtin_registry()).run_case(registry, {}, answers)
    assert relayed.engine == (target if len(answers) % 2 else source)
    for kind in ("graph", "journey"):
        assert _facts(relayed) == _facts(_uninterrupted(kind, registry, answers)), kind


def test_the_scenarios_need_the_breaker_carried() -> None:
    """What each scenario's result shows only when the breaker crossed the pause."""
    counted = _uninterrupted("graph", _counted_not_open(), ["yes"])
    assert _codes(counted) == [
        "t1:FLAKY@1",
        "t2:FLAKY@1",
        "t3:FLAKY@1",
        "t4:CIRCUIT_OPEN@1",
    ]
    probed = _uninterrupted("journey", _open_then_probe(), ["yes"])
    retried = [(e.node, e.detail["code"]) for e in probed.trace if e.kind == "retrying"]
    assert retried == [("t1", "DOWN"), ("t3", "CIRCUIT_OPEN")]
    assert _codes(probed) == ["t1:DOWN@2", "t3:DOWN@2", "t4:CIRCUIT_OPEN@1"]
    looped = _uninterrupted("graph", _paused_in_a_loop(), [1, 2, 3])
    assert looped.outputs is not None
    assert looped.node_outputs["each"]["results"] == [
        [0, "DOWN"],
        [1, "DOWN"],
        [2, "CIRCUIT_OPEN"],
    ]


@pytest.mark.parametrize(("source", "target"), DIRECTIONS, ids=["graph->journey", "journey->graph"])
def test_every_pause_of_the_loop_hands_over_at_that_pause_only(source: str, target: str) -> None:
    registry = _paused_in_a_loop()
    answers = [1, 2, 3]
    expected = _facts(_uninterrupted("graph", registry, answers))
    for k in range(len(answers)):
        saved = _paused(source, registry, answers[:k])
        convert = to_journey if target == "journey" else to_graph
        read = from_graph if source == "graph" else from_journey
        document = _json(convert(read(saved, registry), registry))
        engine = _engine(target)
        if target == "graph":
            answer = engine.restore(registry, document).resume
        else:
            answer = engine.load_session(registry, document).reply
        for payload in answers[k:]:
            result = engine.clock.run(lambda a=answer, p=payload: a(p))
        assert _facts(result) == expected, k


# --------------------------------------------------------------------------- the format


def test_both_engines_pause_with_the_same_breakers_in_the_common_state() -> None:
    registry = _paused_in_a_loop()
    for k, failures in ((0, 1), (1, 2)):
        graph = from_graph(_paused("graph", registry, [1, 2][:k]), registry)
        journey = from_journey(_paused("journey", registry, [1, 2][:k]), registry)
        assert graph.breakers == journey.breakers
        state = graph.breakers["raise"]
        assert (state.failures, state.opened_at is not None) == (failures, failures == 2)
    common = from_graph(_paused("graph", _open_then_probe(), []), _open_then_probe())
    assert common.model_dump(mode="json")["breakers"] == {
        "raise": {"failures": 2, "opened_at": 1.0, "time": 1.0}
    }


def test_each_engine_form_maps_to_the_common_breakers_and_back() -> None:
    registry = _counted_not_open()
    held = {"failures": 1, "opened_at": None, "time": 0.0}
    session = _paused("journey", registry, [])
    assert session["journey_vars"] == {"breaker:flaky": held}
    common = from_journey(session, registry)
    assert common.model_dump(mode="json")["breakers"] == {"flaky": held}
    assert "breaker:flaky" not in common.extensions["journey"]["journey_vars"]
    assert to_graph(common, registry)["breakers"] == {"flaky": held}
    snapshot = _paused("graph", registry, [])
    assert snapshot["breakers"] == {"flaky": held}
    assert to_journey(from_graph(snapshot, registry), registry)["journey_vars"] == {
        "breaker:flaky": held
    }
    for kind, saved in (("graph", snapshot), ("journey", session)):
        read = from_graph if kind == "graph" else from_journey
        write = to_graph if kind == "graph" else to_journey
        again = _json(write(parse_state(_json(read(saved, registry).model_dump())), registry))
        assert again == saved  # a round trip is lossless


def test_a_run_without_breakers_writes_none() -> None:
    registry = _chain([_tool("t1", "echo", {}), _ask()], {"flaky": _breaker(1, 1)})
    common = from_graph(_paused("graph", registry, []), registry)
    assert common.breakers == {}
    assert "breakers" not in to_graph(common, registry)
    assert to_journey(common, registry)["journey_vars"] == {}
    data = common.model_dump(mode="json")
    del data["breakers"]  # a state written before breakers were carried
    assert parse_state(data) == common


# --------------------------------------------------------------------------- refusals


def _common() -> tuple[WorkflowRegistry, dict[str, Any]]:
    registry = _open_then_probe()
    return registry, from_graph(_paused("graph", registry, []), registry).model_dump(mode="json")


@pytest.mark.parametrize(
    ("breakers", "message"),
    [
        (
            {"sleep": {"failures": 0, "opened_at": None, "time": 0.0}},
            "breakers.sleep: no tool node of workflow 'chain' calls tool 'sleep'",
        ),
        (
            {"raise": {"failures": 2, "opened_at": 5.0, "time": 1.0}},
            "breakers.raise: opened at breaker time 5.0, after the breaker time it has reached",
        ),
        ({"raise": {"failures": 0, "opened_at": 0.0, "time": 1.0}}, "open without a failed"),
        (
            {"raise": {"failures": 3, "opened_at": None, "time": 1.0}},
            "is closed after 3 consecutive failures, but the workflow's breaker opens at 2",
        ),
        (
            {"raise": {"failures": 1, "opened_at": 1.0, "time": 1.0}},
            "is open after 1 consecutive failures",
        ),
        ({"raise": {"failures": -1, "opened_at": None, "time": 0.0}}, "malformed"),
        ({"raise": {"failures": 1, "opened_at": None, "time": "1"}}, "malformed"),
        ({"raise": {"failures": 1, "opened_at": None}}, "malformed"),
        ({"raise": {"failures": 1, "opened_at": None, "time": 1, "half": 1}}, "malformed"),
    ],
)
def test_a_bad_breaker_in_a_common_state_is_refused_naming_it(
    breakers: dict[str, Any], message: str
) -> None:
    registry, data = _common()
    data["breakers"] = breakers
    for write in (to_graph, to_journey):
        with pytest.raises(SnapshotInvalid, match=message.replace("(", r"\(")):
            write(data, registry)


def test_a_bad_breaker_in_an_engine_document_is_refused_in_its_vocabulary() -> None:
    registry = _open_then_probe()
    snapshot = _paused("graph", registry, [])
    snapshot["breakers"]["raise"]["failures"] = 1
    with pytest.raises(SnapshotInvalid, match=r"graph snapshot, breakers\.raise: is open after 1"):
        from_graph(seal({k: v for k, v in snapshot.items() if k != "integrity"}), registry)
    session = _paused("journey", registry, [])
    session["journey_vars"]["breaker:raise"]["opened_at"] = 7.5
    with pytest.raises(
        SnapshotInvalid,
        match=r"saved journey session, journey_vars\['breaker:raise'\]: opened at breaker time",
    ):
        from_journey(seal({k: v for k, v in session.items() if k != "integrity"}), registry)
    session["journey_vars"]["breaker:raise"] = [2, 1.0, 1.0]
    with pytest.raises(SnapshotInvalid, match="malformed"):
        from_journey(seal({k: v for k, v in session.items() if k != "integrity"}), registry)


def test_a_breaker_hidden_in_the_journey_extension_is_refused() -> None:
    registry, data = _common()
    extension = copy.deepcopy(data)
    extension["extensions"]["journey"] = {
        "journey_vars": {"breaker:raise": {"failures": 0, "opened_at": None, "time": 0.0}},
        "path": [],
        "transcript": [],
    }
    with pytest.raises(SnapshotInvalid, match=r"extension 'journey' holds 'breaker:raise'"):
        to_journey(extension, registry)
