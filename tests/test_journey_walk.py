"""The journey engine's walk on small workflows: the journey path it records (initial state,
guards, forks, loop and parallel counters, retries as self-transitions), the journey-held
attempt counter, branches one after another, and pauses that start exactly what the graph
engine starts (docs/semantics.md §7.4, §7.5, §7.7, §7.10)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from conftest import (
    condition,
    end,
    loop_for,
    node,
    parallel_count,
    recording_tools,
    router,
    set_,
    start,
    tool,
    transform,
    workflow,
)
from journey_support import converse, facts, graph_converse, journey_engine

from engines.errors import ToolError
from engines.journey import JourneyEngine, JourneyResult, Session
from engines.journey.model import StateKind
from engines.result import IterationPath, RunStatus
from engines.tools import ToolContext, ToolRegistry

Visit = tuple[str, str | None, IterationPath]


def _path(
    doc: dict[str, Any], inputs: dict[str, Any] | None = None, answers: Sequence[Any] = ()
) -> tuple[JourneyResult, list[Visit]]:
    result, session = converse(doc, inputs or {}, answers)
    return result, session.path


def _of(path: list[Visit], *states: str) -> list[tuple[str, str | None]]:
    """(state, token) of the visits to `states`, in order."""
    return [(s, t) for s, t, _ in path if s in states]


# --------------------------------------------------------------------------- forks and guards

DIAMOND = workflow(
    [start(), condition("c", "inputs.x"), transform("a"), transform("b"), transform("j"), end()],
    ["start -> c", "c[true] -> a", "c[false] -> b", "a -> j", "b -> j", "j -> end"],
)


@pytest.mark.parametrize(("x", "taken", "not_taken"), [(True, "a", "b"), (False, "b", "a")])
def test_a_condition_forks_by_its_outcome_and_the_join_guard_lets_the_live_path_in(
    x: bool, taken: str, not_taken: str
) -> None:
    result, path = _path(DIAMOND, {"x": x})
    assert path[0] == ("start", "completed", ())
    assert path[1] == ("c", "true" if x else "false", ())
    assert _of(path, taken, not_taken, "$arrive:j", "j") == [
        (taken, "completed"),
        ("$arrive:j", "arrived"),
        ("j", "completed"),
    ]
    assert [e.detail for e in result.trace if e.node == not_taken] == [{"reason": "dead_path"}]


def test_the_initial_state_comes_first() -> None:
    _, session = converse(DIAMOND, {"x": True}, [])
    initial = session.journey.states[session.journey.initial]
    assert (initial.id, initial.kind) == ("start", StateKind.INITIAL)
    assert session.path[0][0] == initial.id


ROUTED = workflow(
    [start(), router("r", ["big", "small"]), transform("a"), transform("b"), transform("d"), end()],
    [
        *["start -> r", "r[big] -> a", "r[small] -> b", "r[default] -> d"],
        *["a -> end", "b -> end", "d -> end"],
    ],
)


@pytest.mark.parametrize(
    ("inputs", "token", "ran"),
    [
        ({"big": 1, "small": 1}, "route:big", "a"),
        ({"big": 0, "small": 1}, "route:small", "b"),
        ({"big": 0, "small": 0}, "default", "d"),
    ],
)
def test_a_router_forks_by_the_route_it_took(inputs: dict[str, Any], token: str, ran: str) -> None:
    result, path = _path(ROUTED, inputs)
    assert _of(path, "r") == [("r", token)]
    assert _of(path, "a", "b", "d") == [(ran, "completed")]
    assert ("$arrive:end", "arrived") in _of(path, "$arrive:end")
    assert set(result.node_outputs) == {"start", "r", ran, "end"}


def test_an_all_matching_router_guards_each_route_and_skips_the_ones_not_taken() -> None:
    doc = workflow(
        [
            start(),
            router("r", ["a", "b"], all_matching=True),
            transform("x"),
            transform("y"),
            end(),
        ],
        ["start -> r", "r[a] -> x", "r[b] -> y", "x -> end", "y -> end"],
    )
    result, path = _path(doc, {"a": True, "b": False})
    assert _of(path, "r", "$arrive:x", "$arrive:y", "$arrive:end") == [
        ("r", "matched"),
        ("$arrive:x", "arrived"),
        ("$arrive:y", "not_arrived"),
        ("$arrive:end", "arrived"),
    ]
    assert [e.kind.value for e in result.trace if e.node == "y"] == ["skipped"]


def test_a_join_guard_puts_a_node_off_while_an_input_waits() -> None:
    doc = workflow(
        [start(), node("ask", "input", prompt="?"), set_("side", s=1), transform("j"), end()],
        ["start -> ask", "start -> side", "ask -> j", "side -> j", "j -> end"],
    )
    engine = journey_engine()
    session = engine.start_session(doc, {})
    first = engine.clock.run(session.start)
    assert _of(session.path, "$arrive:j", "j") == [("$arrive:j", "not_arrived")]
    assert "j" not in first.node_outputs and first.vars == {"s": 1}
    engine.clock.run(lambda: session.reply(3))
    assert _of(session.path, "ask", "$arrive:j", "j") == [
        ("$arrive:j", "not_arrived"),
        ("ask", "completed"),
        ("$arrive:j", "arrived"),
        ("j", "completed"),
    ]


# --------------------------------------------------------------------------- loops and parallels


def _loop(count: int, body: list[dict[str, Any]], edges: list[str]) -> dict[str, Any]:
    return workflow(
        [
            start(),
            loop_for("L", count),
            start("ls", parent="L"),
            *body,
            end(r="{{ nodes.L.output }}"),
        ],
        ["start -> L", "L -> end", *edges],
    )


CONTAINER_STATES = ("L", "$test:L", "$next:L", "$finish:L")


@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_loop_test_forks_once_per_iteration_and_comes_back_through_the_next_state(
    count: int,
) -> None:
    result, path = _path(
        _loop(count, [transform("x", "{{ loop.index }}", parent="L")], ["ls -> x"])
    )
    assert result.outputs == {"r": {"results": list(range(count)), "iterations": count}}
    rounds = [("$test:L", "more"), ("$next:L", None)] * count
    assert _of(path, *CONTAINER_STATES) == [
        ("L", None),
        *rounds,
        ("$test:L", "done"),
        ("$finish:L", "completed"),
    ]
    for index in range(count):  # each iteration's body lies between `more` and `next`
        body = [i for i, (s, _, p) in enumerate(path) if p == (("L", index),)]
        more = [i for i, (s, t, _) in enumerate(path) if (s, t) == ("$test:L", "more")][index]
        after = [i for i, (s, _, _) in enumerate(path) if s == "$next:L"][index]
        assert body and more < min(body) and max(body) < after


def test_a_loop_that_pauses_visits_the_same_container_states_as_one_that_does_not() -> None:
    """The finish state settles the loop whether the last iteration ended in the first turn or
    after an answer: the journey path records it either way."""
    asked = _loop(2, [node("q", "input", parent="L", prompt="?")], ["ls -> q"])
    result, path = _path(asked, answers=[1, 2])
    assert result.outputs == {"r": {"results": [1, 2], "iterations": 2}}
    plain = _loop(2, [transform("q", "{{ loop.index + 1 }}", parent="L")], ["ls -> q"])
    _, expected = _path(plain)
    assert _of(path, *CONTAINER_STATES) == _of(expected, *CONTAINER_STATES)


def test_a_parallel_that_pauses_visits_its_finish_state_once() -> None:
    doc = workflow(
        [
            start(),
            parallel_count("P", 3),
            start("ps", parent="P"),
            node("q", "input", parent="P", prompt="{{ parallel.index }}?"),
            end(r="{{ nodes.P.output }}"),
        ],
        ["start -> P", "ps -> q", "P -> end"],
    )
    result, path = _path(doc, answers=[0, 1, 2])
    assert result.outputs == {"r": {"results": [0, 1, 2]}}
    states = _of(path, "P", "$test:P", "$next:P", "$finish:P")
    assert states.count(("$test:P", "more")) == 3 and states.count(("$next:P", None)) == 3
    assert states[-2:] == [("$test:P", "done"), ("$finish:P", "completed")]


def test_branches_of_a_parallel_run_one_after_another_by_index() -> None:
    tools, calls = recording_tools()
    doc = workflow(
        [
            start(),
            node("P", "parallel", mode="count", count=3, max_concurrency=3),
            start("ps", parent="P"),
            node("w", "wait", parent="P", seconds="{{ 3 - parallel.index }}"),
            tool("rec", "record", parent="P", index="{{ parallel.index }}"),
        ],
        ["start -> P", "ps -> w", "w -> rec"],
    )
    result, _ = converse(doc, {}, [], engine=journey_engine(tools))
    assert [args["index"] for _, args in calls] == [0, 1, 2]
    branch_of = [e.path[0][1] for e in result.trace if e.path]
    assert branch_of == sorted(branch_of)  # no event of a branch before the last of the one before
    assert result.metrics.duration == 6  # 3 + 2 + 1 seconds, one branch at a time
    graph_tools, graph_calls = recording_tools()
    graph = graph_converse(doc, {}, [], graph_tools)
    assert [args["index"] for _, args in graph_calls] == [2, 1, 0]  # concurrent: by time
    assert facts(result, ordered=False) == facts(graph, ordered=False)


# --------------------------------------------------------------------------- retries


Seen = list[tuple[int, dict[str, Any]]]


def _flaky_session(succeed_at: int, max_attempts: int) -> tuple[JourneyEngine, Session, Seen]:
    """A session of a workflow retrying, up to `max_attempts`, the only tool of a fresh
    registry: it fails until attempt `succeed_at` and records the journey variables it sees."""
    tools = ToolRegistry()
    seen: Seen = []
    holder: dict[str, Session] = {}

    async def shaky(args: Any, ctx: ToolContext) -> Any:
        seen.append((ctx.attempt, dict(holder["session"].journey_vars)))
        if ctx.attempt < succeed_at:
            raise ToolError("BUSY", "try again")
        return ctx.attempt

    tools.register("shaky", shaky)
    retry = {"max_attempts": max_attempts, "initial_interval": 1, "backoff_coefficient": 2}
    doc = workflow(
        [start(), node("t", "tool", tool="shaky", args={}, options={"retry": retry}), end()],
        ["start -> t", "t -> end"],
    )
    engine = journey_engine(tools)
    holder["session"] = engine.start_session(doc, {})
    return engine, holder["session"], seen


def test_a_retry_is_a_self_transition_with_the_attempt_in_the_journey_variables() -> None:
    engine, session, seen = _flaky_session(succeed_at=3, max_attempts=4)
    assert session.journey.states["t"].target("retry") == "t"
    result = engine.clock.run(session.start)
    assert (result.status, result.node_outputs["t"]) == (RunStatus.COMPLETED, 3)
    assert _of(session.path, "t") == [("t", "retry"), ("t", "retry"), ("t", "completed")]
    assert seen == [(1, {}), (2, {"attempt:t": 2}), (3, {"attempt:t": 3})]
    assert session.journey_vars == {}
    assert result.metrics.duration == 3  # backoff 1 s, then 2 s, on the session's clock
    assert [e.attempt for e in result.trace if e.node == "t" and e.kind == "started"] == [1, 2, 3]


def test_retries_that_run_out_leave_by_the_failed_outcome_and_clear_the_counter() -> None:
    engine, session, seen = _flaky_session(succeed_at=99, max_attempts=2)
    result = engine.clock.run(session.start)
    assert [(e.node, e.code, e.attempts) for e in result.errors] == [("t", "BUSY", 2)]
    assert _of(session.path, "t") == [("t", "retry"), ("t", "failed")]
    assert seen == [(1, {}), (2, {"attempt:t": 2})]
    assert session.journey_vars == {}


# --------------------------------------------------------------------------- pauses

FAN = workflow(
    [
        start(),
        node("fan", "parallel", mode="count", count=3, max_concurrency=2),
        start("fs", parent="fan"),
        node("ask", "input", parent="fan", prompt="Branch {{ parallel.index }}?"),
        transform("tag", "{{ [parallel.index, nodes.ask.output] }}", parent="fan"),
        end(r="{{ nodes.fan.output }}"),
    ],
    ["start -> fan", "fs -> ask", "ask -> tag", "fan -> end"],
)


def test_an_input_in_a_parallel_opens_at_most_max_concurrency_branches_before_the_pause() -> None:
    engine = journey_engine()
    session = engine.start_session(FAN, {})
    first = engine.clock.run(session.start)
    opened = {e.path for e in first.trace if e.node == "fs" and e.kind == "started"}
    assert opened == {(("fan", 0),), (("fan", 1),)}
    assert not [e for e in first.trace if e.path == (("fan", 2),)]
    assert first.pause is not None and first.pause.path == (("fan", 0),)
    assert facts(first, ordered=False) == facts(graph_converse(FAN, {}, []), ordered=False)
    answers = ["a", {"b": 1}, 3]
    last, _ = converse(FAN, {}, answers)
    graph = graph_converse(FAN, {}, answers)
    assert last.outputs == {"r": {"results": [[0, "a"], [1, {"b": 1}], [2, 3]]}}
    assert facts(last, ordered=False) == facts(graph, ordered=False)
    for count in (1, 2):  # every pause on the way too
        partial, _ = converse(FAN, {}, answers[:count])
        assert facts(partial, ordered=False) == facts(
            graph_converse(FAN, {}, answers[:count]), ordered=False
        )


def test_independent_work_runs_before_the_agent_asks() -> None:
    doc = workflow(
        [
            start(),
            node("ask", "input", prompt="Name?"),
            set_("after", name="{{ nodes.ask.output }}"),
            set_("side", seen=True),  # declared (and ordered) after the question
            tool("later", "echo", v="{{ vars.seen }}"),
        ],
        ["start -> ask", "ask -> after", "start -> side", "side -> later"],
        variables={"name": None, "seen": False},
    )
    engine = journey_engine()
    session = engine.start_session(doc, {})
    first = engine.clock.run(session.start)
    assert first.status is RunStatus.PAUSED and first.said == ("Name?",)
    assert first.vars == {"name": None, "seen": True}
    assert first.node_outputs["later"] == {"v": True}
    assert "after" not in first.node_outputs
    assert facts(first, ordered=False) == facts(graph_converse(doc, {}, []), ordered=False)
    last = engine.clock.run(lambda: session.reply("Ada"))
    assert last.vars == {"name": "Ada", "seen": True}
    assert facts(last, ordered=False) == facts(graph_converse(doc, {}, ["Ada"]), ordered=False)
