"""Circuit breakers on both engines (docs/semantics.md §6, §7.7, §4 rules 6-8): the bundled
fixture's golden answers, the race rule on rejected documents, the declarations refused in
documents and configuration, breakers declared in configuration, state across a pause (JSON
snapshot round trip) and a sub-workflow's own breaker."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engines.clock import VirtualClock
from engines.config import load_config
from engines.documents import load_fixture
from engines.errors import ConfigError, WorkflowInvalid
from engines.graph import driver as graph_driver
from engines.graph.engine import GraphEngine
from engines.journey import driver as journey_driver
from engines.journey.engine import JourneyEngine
from engines.model import WorkflowRegistry, validate_workflow
from engines.model.tools import CircuitBreaker
from engines.result import RunResult
from engines.tools import ToolRegistry, builtin_registry

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "circuit_breaker.yaml"
BREAKER = {"circuit_breaker": {"failure_threshold": 2, "reset_timeout": 3}}


def _graph(tools: ToolRegistry) -> Any:
    return GraphEngine(tools=tools, clock=VirtualClock())


def _journey(tools: ToolRegistry) -> Any:
    return JourneyEngine(tools=tools, clock=VirtualClock())


def _run_graph(
    tools: ToolRegistry, registry: WorkflowRegistry, inputs: dict[str, Any], answers: list[Any]
) -> RunResult:
    return graph_driver.run_conversation(_graph(tools), registry, inputs, answers, roundtrip=True)


def _run_journey(
    tools: ToolRegistry, registry: WorkflowRegistry, inputs: dict[str, Any], answers: list[Any]
) -> RunResult:
    return journey_driver.run_conversation(
        _journey(tools), registry, inputs, answers, roundtrip=True
    )


Runner = Callable[[ToolRegistry, WorkflowRegistry, dict[str, Any], list[Any]], RunResult]
ENGINES = pytest.mark.parametrize("run", [_run_graph, _run_journey], ids=["graph", "journey"])


def _tool(node_id: str, tool: str, args: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "tool", "params": {"tool": tool, "args": args}, **options}


def _chain(nodes: list[dict[str, Any]], tools: dict[str, Any] | None = None) -> dict[str, Any]:
    """A workflow running `nodes` one after another, each failure routed onwards."""
    ids = [n["id"] for n in nodes]
    edges = [{"source": "start", "target": ids[0]}]
    for first, second in itertools.pairwise(ids):
        edges.append({"source": first, "target": second})
        if nodes[ids.index(first)]["type"] in ("tool", "subworkflow"):
            edges.append({"source": first, "target": second, "handle": "error"})
    doc: dict[str, Any] = {"id": "chain", "nodes": [{"id": "start", "type": "start"}, *nodes]}
    doc["edges"] = edges
    if tools is not None:
        doc["tools"] = tools
    return doc


def _codes(result: RunResult) -> dict[str, str]:
    """node -> "<code>@<attempts>" of each failure (routed or not), "ok" of each completed
    tool."""
    routed = [*result.node_errors.values(), *result.errors]
    out = {e.node: f"{e.code}@{e.attempts}" for e in routed}
    out.update({n: "ok" for n in result.node_outputs if n.startswith("t")})
    return out


# --------------------------------------------------------------------------- fixture


@ENGINES
def test_bundled_fixture_cases_match_their_golden_answers(run: Runner) -> None:
    fixture = load_fixture(FIXTURE, tools=builtin_registry())
    for case in fixture.cases:
        result = run(builtin_registry(), fixture.registry, case.inputs, list(case.conversation))
        assert case.expect is not None
        assert result.status.value == case.expect.status
        assert json.dumps(result.outputs, sort_keys=True) == json.dumps(
            case.expect.outputs, sort_keys=True
        ), case.name


# --------------------------------------------------------------------------- behaviour


@ENGINES
def test_trip_fail_fast_and_a_probe_after_enough_backoff(run: Runner) -> None:
    doc = _chain(
        [
            _tool("t1", "raise", {"code": "DOWN", "recoverable": True}),
            _tool("t2", "raise", {"code": "DOWN", "recoverable": True}),
            _tool("t3", "echo", {}),
            _tool("t4", "raise", {"code": "DOWN", "recoverable": True}),
            _tool(
                "t5",
                "raise",
                {"code": "DOWN", "recoverable": True},
                retry={"max_attempts": 3, "initial_interval": 2, "backoff_coefficient": 1},
            ),
        ],
        tools={"raise": BREAKER},
    )
    result = run(builtin_registry(), WorkflowRegistry([validate_workflow(doc)]), {}, [])
    # t1, t2 trip it; t4 fails fast; t5's third attempt, 4 s of breaker time later, probes
    # and fails (DOWN), so it reopens. echo has no breaker: t3 runs.
    assert _codes(result) == {
        "t1": "DOWN@1",
        "t2": "DOWN@1",
        "t3": "ok",
        "t4": "CIRCUIT_OPEN@1",
        "t5": "DOWN@3",
    }
    retried = [e.detail["code"] for e in result.trace if e.kind == "retrying"]
    assert retried == ["CIRCUIT_OPEN", "CIRCUIT_OPEN"]


@ENGINES
def test_a_success_resets_the_count_of_consecutive_failures(run: Runner) -> None:
    down = {"code": "DOWN", "recoverable": True}
    doc = _chain(
        [
            _tool("t1", "flaky", {"failures": 1}),
            _tool("t2", "flaky", {"failures": 0}),
            _tool("t3", "flaky", {"failures": 1}),
            _tool("t4", "flaky", {"failures": 0}),
            _tool("t5", "raise", down),
        ],
        tools={"flaky": BREAKER},
    )
    result = run(builtin_registry(), WorkflowRegistry([validate_workflow(doc)]), {}, [])
    assert _codes(result) == {
        "t1": "FLAKY@1",
        "t2": "ok",
        "t3": "FLAKY@1",
        "t4": "ok",
        "t5": "DOWN@1",
    }


@ENGINES
def test_breaker_declared_in_configuration_and_replaced_by_the_workflow(run: Runner) -> None:
    down = {"code": "DOWN", "recoverable": True}
    doc = _chain([_tool(f"t{i}", "raise", down) for i in range(1, 4)])
    configured = builtin_registry()
    configured.breakers["raise"] = CircuitBreaker(failure_threshold=1, reset_timeout=5)
    registry = WorkflowRegistry([validate_workflow(doc)], tools=configured)
    assert _codes(run(configured, registry, {}, [])) == {
        "t1": "DOWN@1",
        "t2": "CIRCUIT_OPEN@1",
        "t3": "CIRCUIT_OPEN@1",
    }
    own = validate_workflow({**doc, "tools": {"raise": BREAKER}})
    registry = WorkflowRegistry([own], tools=configured)
    assert _codes(run(configured, registry, {}, [])) == {
        "t1": "DOWN@1",
        "t2": "DOWN@1",
        "t3": "CIRCUIT_OPEN@1",
    }


@ENGINES
def test_breaker_state_survives_a_pause_and_resume(run: Runner) -> None:
    down = {"code": "DOWN", "recoverable": True}
    doc = _chain(
        [
            _tool("t1", "raise", down, retry={"max_attempts": 2, "initial_interval": 1}),
            {"id": "ask", "type": "input", "params": {"prompt": "go on?"}},
            _tool("t2", "echo", {}),
            _tool("t3", "raise", down, retry={"max_attempts": 2, "initial_interval": 3}),
        ],
        tools={"raise": BREAKER, "echo": BREAKER},
    )
    registry = WorkflowRegistry([validate_workflow(doc)])
    result = run(builtin_registry(), registry, {}, ["yes"])
    # t1 opens raise's breaker at breaker time 1; t3 is refused at 1, probes at 4 and fails.
    assert _codes(result) == {"t1": "DOWN@2", "t2": "ok", "t3": "DOWN@2"}
    kinds = [(e.node, e.detail.get("code")) for e in result.trace if e.kind == "retrying"]
    assert kinds == [("t1", "DOWN"), ("t3", "CIRCUIT_OPEN")]


def test_the_paused_state_holds_the_breaker_on_both_engines() -> None:
    doc = _chain(
        [
            _tool("t1", "flaky", {"failures": 1}, retry={"max_attempts": 2, "initial_interval": 1}),
            {"id": "ask", "type": "input", "params": {"prompt": "go on?"}},
        ],
        tools={"flaky": {"circuit_breaker": {"failure_threshold": 5, "reset_timeout": 3}}},
    )
    validated = validate_workflow(doc)
    graph = _graph(builtin_registry())
    execution = graph.start(validated, {})
    graph.clock.run(execution.run)
    assert execution.snapshot()["breakers"] == {
        "flaky": {"failures": 0, "opened_at": None, "time": 1.0}
    }
    journey = _journey(builtin_registry())
    session = journey.start_session(validated, {})
    journey.clock.run(session.start)
    assert session.to_json()["journey_vars"]["breaker:flaky"] == {
        "failures": 0,
        "opened_at": None,
        "time": 1.0,
    }


@ENGINES
def test_a_child_run_has_its_own_breaker(run: Runner) -> None:
    down = {"code": "DOWN", "recoverable": True}
    child = validate_workflow(
        _chain(
            [_tool("t1", "raise", down)],
            tools={"raise": {"circuit_breaker": {"failure_threshold": 1, "reset_timeout": 9}}},
        )
    ).workflow.model_copy(update={"id": "child"})
    parent = _chain(
        [
            _tool("t1", "raise", down),
            {"id": "sub", "type": "subworkflow", "params": {"workflow": "child"}},
            _tool("t2", "raise", down),
        ],
        tools={"raise": {"circuit_breaker": {"failure_threshold": 1, "reset_timeout": 9}}},
    )
    registry = WorkflowRegistry([validate_workflow(parent), validate_workflow(child)])
    result = run(builtin_registry(), registry, {}, [])
    # The child's call meets a closed breaker (its own: DOWN, not CIRCUIT_OPEN), the
    # parent's second call its own open one.
    assert _codes(result) == {"t1": "DOWN@1", "sub": "DOWN@1", "t2": "CIRCUIT_OPEN@1"}


# --------------------------------------------------------------------------- the race rule


def _parallel_calls() -> dict[str, Any]:
    return {
        "id": "racy",
        "tools": {"flaky": BREAKER},
        "nodes": [
            {"id": "start", "type": "start"},
            _tool("left", "flaky", {"failures": 0}),
            _tool("right", "flaky", {"failures": 0}),
            {"id": "join", "type": "transform", "params": {"value": 1}},
        ],
        "edges": [
            {"source": "start", "target": "left"},
            {"source": "start", "target": "right"},
            {"source": "left", "target": "join"},
            {"source": "right", "target": "join"},
        ],
    }


def test_two_concurrent_calls_of_a_breaker_tool_are_refused_naming_both() -> None:
    with pytest.raises(WorkflowInvalid) as caught:
        validate_workflow(_parallel_calls())
    [problem] = caught.value.problems
    assert "'left'" in problem.message and "'right'" in problem.message
    assert "tool 'flaky'" in problem.message and "circuit breaker" in problem.message
    assert problem.location == "nodes[1] (id 'left')"


def test_ordered_or_exclusive_calls_and_unprotected_tools_are_accepted() -> None:
    ordered = _parallel_calls()
    ordered["edges"][1] = {"source": "left", "target": "right"}
    validate_workflow(ordered)
    validate_workflow({**_parallel_calls(), "tools": {"echo": BREAKER}})
    exclusive = _parallel_calls()
    exclusive["nodes"].append(
        {"id": "pick", "type": "condition", "params": {"expression": "inputs.x"}}
    )
    exclusive["edges"][0] = {"source": "start", "target": "pick"}
    exclusive["edges"][1] = {"source": "pick", "target": "left", "handle": "true"}
    exclusive["edges"].insert(2, {"source": "pick", "target": "right", "handle": "false"})
    exclusive["edges"] = [
        e for e in exclusive["edges"] if e != {"source": "start", "target": "right"}
    ]
    validate_workflow(exclusive)


def test_a_call_inside_a_container_races_with_a_concurrent_call_outside() -> None:
    doc = _parallel_calls()
    doc["nodes"][2] = {"id": "right", "type": "loop", "params": {"mode": "for", "count": 2}}
    doc["nodes"] += [
        {"id": "inner_start", "type": "start", "parent": "right"},
        _tool("inner", "flaky", {"failures": 0}, parent="right"),
    ]
    doc["edges"].append({"source": "inner_start", "target": "inner"})
    with pytest.raises(WorkflowInvalid, match=r"nodes 'left' and 'right' can run concurrently"):
        validate_workflow(doc)


def test_a_call_inside_a_parallel_body_is_refused() -> None:
    doc = {
        "id": "fanout",
        "tools": {"flaky": BREAKER},
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "fan", "type": "parallel", "params": {"mode": "count", "count": 2}},
            {"id": "body_start", "type": "start", "parent": "fan"},
            _tool("call", "flaky", {"failures": 0}, parent="fan"),
        ],
        "edges": [
            {"source": "start", "target": "fan"},
            {"source": "body_start", "target": "call"},
        ],
    }
    with pytest.raises(WorkflowInvalid, match=r"id 'call'.*inside parallel 'fan'"):
        validate_workflow(doc)


def test_a_breaker_only_the_configuration_declares_is_checked_with_the_tools() -> None:
    racy = {k: v for k, v in _parallel_calls().items() if k != "tools"}
    validated = validate_workflow(racy)
    configured = builtin_registry()
    configured.breakers["flaky"] = CircuitBreaker(failure_threshold=1, reset_timeout=1)
    with pytest.raises(WorkflowInvalid, match="workflow 'racy' nodes\\[1\\] \\(id 'left'\\)"):
        WorkflowRegistry([validated], tools=configured)
    WorkflowRegistry([validated], tools=builtin_registry())


# --------------------------------------------------------------------------- declarations


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"failure_threshold": 0, "reset_timeout": 1}, "failure_threshold: must be greater"),
        ({"failure_threshold": True, "reset_timeout": 1}, "failure_threshold: must be a whole"),
        ({"failure_threshold": 1, "reset_timeout": 0}, "reset_timeout: must be a finite number"),
        ({"failure_threshold": 1, "reset_timeout": "5"}, "reset_timeout: must be a finite"),
        ({"failure_threshold": 1}, "reset_timeout: missing"),
        ({"failure_threshold": 1, "reset_timeout": 1, "half_open": 1}, "half_open"),
    ],
)
def test_bad_declarations_in_a_workflow_are_refused_naming_the_place(
    settings: dict[str, Any], message: str
) -> None:
    doc = {
        "id": "w",
        "tools": {"flaky": {"circuit_breaker": settings}},
        "nodes": [{"id": "start", "type": "start"}],
    }
    with pytest.raises(WorkflowInvalid) as caught:
        validate_workflow(doc)
    text = str(caught.value)
    assert "tools.flaky.circuit_breaker" in text and message in text


def test_settings_for_an_unknown_tool_are_refused_with_a_tool_registry() -> None:
    doc = {"id": "w", "tools": {"nope": BREAKER}, "nodes": [{"id": "start", "type": "start"}]}
    with pytest.raises(WorkflowInvalid, match=r"tools\.nope: settings for unknown tool 'nope'"):
        WorkflowRegistry([validate_workflow(doc)], tools=builtin_registry())


def test_configuration_declares_breakers_and_refuses_bad_ones(tmp_path: Path) -> None:
    config = tmp_path / "compat.toml"
    config.write_text("[tools.flaky.circuit_breaker]\nfailure_threshold = 2\nreset_timeout = 4\n")
    tools = load_config(path=config).tool_registry()
    assert tools.breakers == {"flaky": CircuitBreaker(failure_threshold=2, reset_timeout=4)}
    config.write_text("[tools.flaky.circuit_breaker]\nfailure_threshold = 2\nreset_timeout = -1\n")
    with pytest.raises(
        ConfigError, match=r"compat\.toml: tools\.flaky\.circuit_breaker\.reset_timeout"
    ):
        load_config(path=config)
    config.write_text("[tools.nope.circuit_breaker]\nfailure_threshold = 2\nreset_timeout = 1\n")
    with pytest.raises(ConfigError, match=r"tools\.nope: settings for unknown tool 'nope'"):
        load_config(path=config).tool_registry()


def test_a_workflow_without_tool_settings_keeps_its_content_hash() -> None:
    doc = _chain([_tool("t1", "echo", {})])
    assert "tools" not in validate_workflow(doc).workflow.to_document()
