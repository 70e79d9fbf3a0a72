"""The graph engine's public API: bad calls are refused with a clear exception and change
nothing; cancellation; event subscribers and iterators; the plan cache; concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import (
    cancel_at,
    graph_engine,
    kinds,
    linear,
    node,
    recording_tools,
    start,
    tool,
    transform,
    workflow,
)

from engines.errors import EngineStateError, SetupError, WorkflowInvalid
from engines.graph.engine import GraphEngine
from engines.graph.events import Event
from engines.graph.execution import Execution
from engines.result import RunResult, RunStatus

ASKING = linear(start(), node("ask", "input", prompt="n?", schema={"type": "integer"}),
                transform("got", "{{ nodes.ask.output }}"))  # fmt: skip


def _paused(engine: GraphEngine | None = None) -> tuple[GraphEngine, Execution]:
    engine = engine or graph_engine()
    execution = engine.start(ASKING, {})
    assert engine.clock.run(execution.run).status is RunStatus.PAUSED
    return engine, execution


def _resume(engine: GraphEngine, execution: Execution, payload: Any, **kw: Any) -> RunResult:
    return engine.clock.run(lambda: execution.resume(payload, **kw))


# --------------------------------------------------------------------------- refused calls


def test_an_invalid_workflow_is_refused_and_the_engine_still_works() -> None:
    engine = graph_engine()
    bad = linear(start(), node("t", "transform", value=1, colour="red"))
    for call in (engine.run, engine.start, engine.plan):
        with pytest.raises(WorkflowInvalid) as info:
            call(bad)
        assert "colour" in str(info.value)
    assert engine.run(linear(start(), transform("t", 2))).node_outputs["t"] == 2


def test_an_unknown_tool_is_refused_before_running() -> None:
    with pytest.raises(WorkflowInvalid, match="nope"):
        graph_engine().run(linear(start(), tool("t", "nope")))


@pytest.mark.parametrize(
    ("inputs", "words"),
    [([1, 2], "mapping"), ("text", "mapping"), ({"x": object()}, "JSON"),
     ({"x": float("nan")}, "JSON"), ({1: "a"}, "JSON")],
    ids=["list", "str", "object", "nan", "int-key"],
)  # fmt: skip
def test_bad_inputs_are_a_setup_error(inputs: Any, words: str) -> None:
    engine = graph_engine()
    with pytest.raises(SetupError, match=words):
        engine.start(ASKING, inputs)
    with pytest.raises(SetupError, match=words):
        engine.run(ASKING, inputs)


def test_resume_of_a_run_that_is_not_paused_is_refused() -> None:
    engine = graph_engine()
    fresh = engine.start(ASKING, {})
    with pytest.raises(EngineStateError, match="not paused"):
        _resume(engine, fresh, 1)
    assert engine.clock.run(fresh.run).status is RunStatus.PAUSED  # still runnable


def test_resume_twice_is_refused_the_second_time() -> None:
    engine, execution = _paused()
    assert _resume(engine, execution, 4).node_outputs["got"] == 4
    with pytest.raises(EngineStateError, match="completed"):
        _resume(engine, execution, 5)


def test_a_payload_for_the_wrong_node_is_refused_and_changes_nothing() -> None:
    engine, execution = _paused()
    before = execution.snapshot()
    with pytest.raises(EngineStateError, match=r"'ask'.*'other'"):
        _resume(engine, execution, 1, node="other")
    assert execution.status == RunStatus.PAUSED
    assert execution.snapshot() == before
    result = _resume(engine, execution, 7, node="ask")
    assert result.status is RunStatus.COMPLETED and result.node_outputs["got"] == 7


def test_run_twice_is_refused_and_a_paused_run_can_still_resume() -> None:
    engine, execution = _paused()
    with pytest.raises(EngineStateError, match="already ran"):
        engine.clock.run(execution.run)
    assert _resume(engine, execution, 1).status is RunStatus.COMPLETED
    with pytest.raises(EngineStateError, match="already ran"):
        engine.clock.run(execution.run)


def test_snapshot_of_a_run_that_is_not_paused_is_refused() -> None:
    engine = graph_engine()
    fresh = engine.start(ASKING, {})
    with pytest.raises(EngineStateError, match="paused"):
        fresh.snapshot()
    engine, execution = _paused()
    _resume(engine, execution, 1)
    with pytest.raises(EngineStateError, match="completed"):
        execution.snapshot()


def test_cancel_of_an_execution_that_is_not_running_is_refused() -> None:
    engine = graph_engine()
    with pytest.raises(EngineStateError, match="not running"):
        engine.start(ASKING, {}).cancel()
    engine, execution = _paused()
    with pytest.raises(EngineStateError, match="not running"):
        execution.cancel()
    assert _resume(engine, execution, 2).status is RunStatus.COMPLETED
    with pytest.raises(EngineStateError, match="not running"):
        execution.cancel()


# --------------------------------------------------------------------------- cancellation


def _saga_with_slow_step() -> dict[str, Any]:
    undo = {"tool": "undo", "args": {"v": "{{ nodes.done.output.v }}"}}
    done = node("done", "tool", tool="echo", args={"v": 1}, options={"compensate": undo})
    return workflow(
        [start(), done, tool("slow", "sleep", seconds=10), node("tick", "wait", seconds=3),
         transform("next"), node("ask", "input", prompt="?")],
        ["start -> done", "done -> slow", "start -> tick", "tick -> next", "start -> ask"],
    )  # fmt: skip


def _assert_cancelled(result: RunResult, calls: list[Any], at: float) -> None:
    assert result.status is RunStatus.CANCELLED and result.outputs == {}
    assert ("slow", "CANCELLED") in result.error_codes()
    failed = next(e for e in result.trace if e.node == "slow" and e.kind == "failed")
    assert failed.time == at and failed.detail["code"] == "CANCELLED"
    assert calls == [("undo", {"v": 1})]
    assert [(e.node, e.detail) for e in result.trace if e.kind == "compensated"] == [
        ("done", {"tool": "undo", "ok": True})
    ]
    assert [e.detail for e in result.trace if e.node == "ask"][-1] == {"reason": "abandoned"}
    assert result.metrics.duration == at
    assert not [e for e in result.trace if e.kind == "started" and e.time >= at]


def test_cancel_from_another_task_at_a_virtual_time() -> None:
    tools, calls = recording_tools("undo")
    engine = graph_engine(tools)
    execution = engine.start(_saga_with_slow_step(), {})
    result = cancel_at(engine, execution, 2.5)
    _assert_cancelled(result, calls, 2.5)
    assert kinds(result, "tick") == ["started", "failed"]
    # (Their order is test_cancelled_errors_are_listed_in_order_key_order's business.)
    assert sorted(result.error_codes()) == [("slow", "CANCELLED"), ("tick", "CANCELLED")]


def test_cancel_from_a_subscriber_stops_nodes_from_starting() -> None:
    tools, calls = recording_tools("undo")
    engine = graph_engine(tools)
    execution = engine.start(_saga_with_slow_step(), {})
    execution.subscribe(
        lambda e: execution.cancel() if (e.node, e.kind) == ("tick", "completed") else None
    )
    result = engine.clock.run(execution.run)
    _assert_cancelled(result, calls, 3.0)
    assert kinds(result, "next") == []
    assert result.error_codes() == [("slow", "CANCELLED")]


def test_cancelled_errors_are_listed_in_order_key_order() -> None:
    # `a` comes before `b` in canonical order but starts later (after the wait).
    doc = workflow(
        [start(), node("w", "wait", seconds=1), tool("a", "sleep", seconds=10),
         tool("b", "sleep", seconds=10)],
        ["start -> w", "w -> a", "start -> b"],
    )  # fmt: skip
    engine = graph_engine()
    assert engine.plan(doc).topology.index["a"] < engine.plan(doc).topology.index["b"]
    result = cancel_at(engine, engine.start(doc, {}), 4)
    assert result.error_codes() == [("a", "CANCELLED"), ("b", "CANCELLED")]


def test_a_cancelled_attempt_fails_as_that_attempt_with_the_full_detail() -> None:
    doc = linear(start(), tool("s", "sleep", seconds=10))
    doc["nodes"][1].update(timeout=2, retry={"max_attempts": 3, "initial_interval": 1})
    engine = graph_engine()
    result = cancel_at(engine, engine.start(doc, {}), 4)  # attempt 2 runs from 3 to 5
    events = [(e.kind.value, e.attempt) for e in result.trace if e.node == "s"]
    assert events == [("started", 1), ("retrying", 1), ("started", 2), ("failed", 2)]
    (error,) = result.errors
    assert (error.code, error.attempts) == ("CANCELLED", 2)
    failed = result.trace[-1]
    assert failed.detail == {"code": "CANCELLED", "message": error.message, "handled": False}


# --------------------------------------------------------------------------- events


def _collect(execution: Execution) -> list[Event]:
    seen: list[Event] = []
    execution.subscribe(seen.append)
    return seen


def test_subscribers_see_every_event_in_order_and_the_trace_is_their_node_events() -> None:
    engine = graph_engine()
    execution = engine.start(ASKING, {})
    seen = _collect(execution)
    paused = engine.clock.run(execution.run)
    result = _resume(engine, execution, 3)
    assert [e.seq for e in seen] == list(range(len(seen)))
    kinds_ = [e.kind for e in seen if e.node is None]
    assert kinds_ == ["execution.started", "execution.paused", "execution.resumed",
                      "execution.completed"]  # fmt: skip
    assert seen[0].kind == "execution.started" and seen[-1].kind == "execution.completed"
    assert list(result.trace) == [e for e in seen if e.node is not None]
    assert list(paused.trace) == list(result.trace[: len(paused.trace)])


def test_a_subscriber_that_raises_breaks_nothing_and_is_counted() -> None:
    engine = graph_engine()
    execution = engine.start(linear(start(), transform("a"), transform("b")), {})

    def broken(event: Event) -> None:
        if event.node is not None:
            raise RuntimeError("subscriber bug")

    execution.subscribe(broken)
    seen = _collect(execution)
    result = engine.clock.run(execution.run)
    assert result.status is RunStatus.COMPLETED
    assert result.metrics.subscriber_errors == len(result.trace) == 6
    assert len(seen) == 8


def test_the_async_iterator_yields_the_events_of_one_turn_then_stops() -> None:
    engine = graph_engine()
    execution = engine.start(ASKING, {})
    seen = _collect(execution)

    async def turn(call: Any) -> list[Event]:
        events = execution.events()
        consumer = asyncio.ensure_future(_drain(events))
        await call()
        return await asyncio.wait_for(consumer, 60)

    first = engine.clock.run(lambda: turn(execution.run))
    second = engine.clock.run(lambda: turn(lambda: execution.resume(1)))
    assert first == seen[: len(first)] and second == seen[len(first) :]
    assert (first[0].kind, first[-1].kind) == ("execution.started", "execution.paused")
    assert (second[0].kind, second[-1].kind) == ("execution.resumed", "execution.completed")


async def _drain(events: Any) -> list[Event]:
    return [event async for event in events]


def test_the_engine_env_is_what_templates_see_as_env() -> None:
    doc = linear(start(), transform("t", "{{ env.REGION }}"), variables={"r": "{{ env.REGION }}"})
    result = graph_engine(env={"REGION": "eu"}).run(doc)
    assert result.vars == {"r": "eu"} and result.node_outputs["t"] == "eu"
    missing = graph_engine().run(doc)
    assert missing.error_codes() == [("$variables", "EXPRESSION_ERROR")]


# --------------------------------------------------------------------------- plans


def test_plans_are_cached_and_shared_by_executions() -> None:
    engine = graph_engine()
    w = linear(start(), transform("a", 1))
    other = linear(start(), transform("a", 2))
    plan = engine.plan(w)
    assert engine.plan(w) is plan
    assert engine.plan(other) is not plan
    first, second = engine.start(w, {}), engine.start(w, {"x": 1})
    assert first.plan is plan and second.plan is plan
    assert engine.clock.run(first.run).node_outputs == {"start": {}, "a": 1}
    assert engine.run(other).node_outputs["a"] == 2
    assert engine.plan(w) is plan


def test_an_execution_keeps_only_runtime_state() -> None:
    engine = graph_engine()
    w = linear(start(), transform("a", 1))
    execution = engine.start(w, {})
    engine.clock.run(execution.run)
    top = execution.state.top
    assert top is not None and top.level is engine.plan(w).levels[None]
    assert execution.plan.nodes["a"].node is engine.plan(w).validated.workflow.node("a")


# --------------------------------------------------------------------------- concurrency


def _fan_out(count: int) -> dict[str, Any]:
    waits = [node(f"w{i}", "wait", seconds=1) for i in range(count)]
    return workflow([start(), *waits], [f"start -> w{i}" for i in range(count)])


def test_independent_waits_overlap_in_virtual_time() -> None:
    result = graph_engine().run(_fan_out(8))
    assert result.status is RunStatus.COMPLETED
    assert result.metrics.duration == 1.0
    assert {e.time for e in result.trace if e.kind == "completed" and e.node != "start"} == {1.0}


def test_engine_max_concurrency_bounds_running_tasks_without_changing_results() -> None:
    free, bounded = (
        graph_engine().run(_fan_out(8)),
        graph_engine(max_concurrency=2).run(_fan_out(8)),
    )
    assert bounded.metrics.duration == 4.0
    assert bounded.node_outputs == free.node_outputs
    assert sorted(e.step() for e in bounded.trace) == sorted(e.step() for e in free.trace)


def test_the_delay_hook_reshuffles_the_schedule_but_not_the_result() -> None:
    doc = workflow(
        [start(), transform("a", "{{ inputs.n }}"), tool("b", "add", a="{{ nodes.a.output }}", b=1),
         transform("c", 5),
         node("j", "end", outputs={"sum": "{{ nodes.b.output + nodes.c.output }}"})],
        ["start -> a", "a -> b", "start -> c", "b -> j", "c -> j"],
    )  # fmt: skip
    plain = graph_engine().run(doc, {"n": 1})
    order = {"a": 3.0, "b": 0.5, "c": 0.0, "j": 1.0}
    shuffled = graph_engine(delay=lambda n, p: order.get(n, 0.0)).run(doc, {"n": 1})
    assert shuffled.outputs == plain.outputs == {"sum": 7}
    assert [e.node for e in shuffled.trace if e.kind == "completed"][1:] == ["c", "a", "b", "j"]
    assert shuffled.metrics.duration == 4.5
